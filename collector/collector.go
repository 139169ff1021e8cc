// Package collector merges the workers' metric events into per-second snapshots
// and the final result, and publishes both on the bus.
package collector

import (
	"context"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
)

// Config configures a Collector. The zero value of each field means its default.
type Config struct {
	RunID string
	Name  string // the run's name, copied into the result
	// FinalizeGrace: after stopping, how long past graceful_stop to wait for
	// workers' bye before finalising without them; default 5 s.
	FinalizeGrace time.Duration
	// SnapshotGrace: how long after a second ends to wait for laggard workers
	// before publishing its snapshot anyway; default 1 s.
	SnapshotGrace time.Duration
}

// Collector aggregates one run.
type Collector struct {
	cfg  Config
	conn *bus.Conn
}

// New returns a collector for cfg.RunID reading from and publishing on conn.
func New(cfg Config, conn *bus.Conn) *Collector { panic("TODO") }

// Ready is closed once the collector's subscriptions are in place.
func (c *Collector) Ready() <-chan struct{} { panic("TODO") }

// Run aggregates until the result is published (it returns nil) or ctx is done
// (it publishes what it has as the result, with state aborted, and returns ctx.Err()).
func (c *Collector) Run(ctx context.Context) error { panic("TODO") }
