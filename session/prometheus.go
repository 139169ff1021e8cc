package session

import (
	"context"
	"fmt"
	"sync"

	"github.com/loadforge/loadforge/exporter"
	"github.com/loadforge/loadforge/internal/bus"
)

// startExporter serves the run's metrics for Prometheus (--prometheus) from
// the run's own bus, as a separate `loadforge exporter` would, until the
// stages stop.
func (s *session) startExporter(ctx context.Context, wg *sync.WaitGroup, stageCtx context.Context, b *bus.Bus, progress *progress) error {
	if s.cfg.Prometheus == "" {
		return nil
	}
	conn, err := b.Connect("loadforge-exporter")
	if err != nil {
		return err
	}
	ex, err := exporter.New(exporter.Config{RunID: s.cfg.RunID, Listen: s.cfg.Prometheus, ProcessMetrics: true,
		Logger: s.cfg.Logger}, conn)
	if err != nil {
		return err
	}
	st := start(wg, stageCtx, "exporter", ex.Run)
	if err := s.await(ctx, ex.Ready(), st, "exporter"); err != nil {
		return fmt.Errorf("--prometheus %s: %w", s.cfg.Prometheus, err)
	}
	progress.note(fmt.Sprintf("metrics for Prometheus on http://%s/metrics", ex.Addr()))
	return nil
}
