// Package scheduler turns a load pattern into timestamped scale commands on the bus.
// Patterns are pure functions of elapsed time: `loadforge validate` prints the
// same code's timeline that the scheduler follows.
package scheduler

import (
	"context"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
)

// Stage moves the target linearly from the previous stage's target (0 before the
// first) to Target over Duration. A zero Duration jumps at once.
type Stage struct {
	Duration time.Duration
	Target   int
}

// Pattern is a closed-model load pattern: the target number of VUs as a
// piecewise-linear function of elapsed time. Every named pattern (constant,
// ramp, step, spike, stages) compiles to one.
type Pattern struct {
	Stages []Stage
}

// Config configures a Scheduler. The zero value of each field means its default.
type Config struct {
	RunID   string
	Pattern Pattern
	// Start is the run's time zero (the session's StartedAt); zero means when Run starts.
	Start time.Time
}

// Scheduler publishes a ScaleCommand each time the pattern's target changes.
type Scheduler struct {
	cfg  Config
	conn *bus.Conn
}

// New returns a scheduler that publishes on conn.
func New(cfg Config, conn *bus.Conn) *Scheduler {
	return &Scheduler{cfg: cfg, conn: conn}
}

// Run follows the pattern, publishing on loadforge.<run>.scale, until the pattern
// ends (it then publishes a command with Done set and returns nil) or ctx is done
// (it returns ctx.Err()).
func (s *Scheduler) Run(ctx context.Context) error {
	panic("TODO")
}
