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

// Constant holds vus VUs for d.
func Constant(vus int, d time.Duration) Pattern { panic("TODO") }

// Ramp goes linearly from `from` to `to` VUs over d (starting at `from` at once).
func Ramp(from, to int, d time.Duration) Pattern { panic("TODO") }

// Step starts at `start` VUs and adds `step` VUs every `every`, `steps` times
// (steps+1 plateaus of `every` each).
func Step(start, step int, every time.Duration, steps int) Pattern { panic("TODO") }

// Spike holds `base` VUs, jumps to `peak` at `at` for `hold`, then returns to
// `base` until `total` has elapsed.
func Spike(base, peak int, at, hold, total time.Duration) Pattern { panic("TODO") }

// Validate reports the first bad stage as an error naming it, e.g.
// `stage 2: target -5 is negative`; a pattern must have a positive duration.
func (p Pattern) Validate() error { panic("TODO") }

// Duration is the pattern's total length.
func (p Pattern) Duration() time.Duration { panic("TODO") }

// Target is the number of VUs the pattern wants at elapsed (the linear value
// rounded to the nearest integer) and whether the pattern has ended.
func (p Pattern) Target(elapsed time.Duration) (vus int, done bool) { panic("TODO") }

// NextChange is the first time strictly after elapsed at which Target changes,
// and the new target; ok is false when no change follows (then the next event is the end).
func (p Pattern) NextChange(elapsed time.Duration) (at time.Duration, vus int, ok bool) { panic("TODO") }

// Point is one row of a printed timeline.
type Point struct {
	At  time.Duration
	VUs int
}

// Timeline samples the pattern every step from 0 to its end inclusive; validate prints it.
func (p Pattern) Timeline(step time.Duration) []Point { panic("TODO") }

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
