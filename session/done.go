package session

import (
	"sync"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

// workDone watches the workers' metric events and closes its channel once
// wanted distinct workers have said they are done (MetricEvent.Done): their
// share of a run of shared iterations is made, or their data rows ran out.
// The run then ends, completed, without waiting for the load pattern's end.
func (s *session) workDone(wanted int) (<-chan struct{}, *bus.Subscription, error) {
	done := make(chan struct{})
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
	)
	sub, err := bus.Subscribe(s.conn, schemas.AllMetrics(s.cfg.RunID), func(_ string, ev *schemas.MetricEvent) {
		if !ev.Done {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if seen[ev.WorkerID] || len(seen) >= wanted {
			return
		}
		seen[ev.WorkerID] = true
		if len(seen) == wanted {
			close(done)
		}
	})
	return done, sub, err
}
