// Package scheduler turns a load pattern (package pattern) into timestamped
// scale commands on the bus. A closed-model pattern sets the number of VUs;
// an open-model one (a RatePattern) sets the rate at which iterations start.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
)

// Config configures a Scheduler. The zero value of each field means its default.
type Config struct {
	RunID   string
	Pattern pattern.Pattern
	// Start is the run's time zero (the session's StartedAt); zero means when Run starts.
	Start time.Time
}

// commandGap coalesces a steep ramp's changes: the changes due within this
// long after a command wait for the last of them, which carries the newest
// target. A ramp's command count then depends on its length, not its height
// (0 → 10,000 VUs over 10 s: about five hundred commands, not ten thousand),
// and a worker's target trails the pattern by at most this much.
const commandGap = 20 * time.Millisecond

// nextCommand is when the command after one at `at` is due and its target:
// the last change of the pattern within commandGap after the first change
// following at (each command still falls on a change of the target, exactly
// stamped). Between two commands at least commandGap passes, or no change
// falls in between, so a pattern of length d yields at most 2·d/commandGap
// commands plus one per change spaced further apart.
func nextCommand(p pattern.Pattern, at time.Duration) (time.Duration, int, bool) {
	first, vus, ok := p.NextChange(at)
	if !ok {
		return 0, 0, false
	}
	limit := first + commandGap
	if next, _, more := p.NextChange(first); !more || next > limit {
		return first, vus, true // a lone change: no need to wait
	}
	// The last change in (first, limit] is the least t with no change in
	// (t, limit]: a predicate monotone in t, so bisect it.
	lo, hi := first, limit // no change in (hi, limit]; some in (lo, limit]
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if next, _, more := p.NextChange(mid); !more || next > limit {
			hi = mid
		} else {
			lo = mid
		}
	}
	// hi is the last change itself: a change at hi lies in (hi-1, limit].
	last, _ := p.Target(hi)
	return hi, last, true
}

// flushTimeout bounds the wait for the last command to reach the server.
const flushTimeout = 5 * time.Second

// timerSlack is how late a wake-up may be and still count as on time. An idle
// Go process sleeps in whole milliseconds on Linux, so a change due a moment
// before the wake-up deserves its own command; only changes older than this
// collapse into the newest.
const timerSlack = 2 * time.Millisecond

// Scheduler publishes a ScaleCommand each time the pattern's target changes.
type Scheduler struct {
	cfg  Config
	conn *bus.Conn
	// now is the clock; nil means time.Now. Tests move it to play a stall.
	now func() time.Time
}

// New returns a scheduler that publishes on conn. It checks the config and
// does no I/O; the scheduler subscribes to nothing, so it has no Ready.
func New(cfg Config, conn *bus.Conn) (*Scheduler, error) {
	if err := cfg.Pattern.Validate(); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if !schemas.ValidToken(cfg.RunID) {
		return nil, fmt.Errorf("scheduler: run id %q must be one subject token", cfg.RunID)
	}
	if conn == nil {
		return nil, errors.New("scheduler: no bus connection")
	}
	return &Scheduler{cfg: cfg, conn: conn}, nil
}

// Run follows the pattern, publishing on loadforge.<run>.scale, until the pattern
// ends (it then publishes a command with Done set and returns nil) or ctx is done
// (it returns ctx.Err()).
//
// Each command is stamped with its plan time (t0 + the change's elapsed time),
// and every wait is measured from t0, so lateness never accumulates. When Run
// falls behind (a late start, a busy machine), the changes that fell due
// meanwhile collapse into one command carrying the newest of them; a target
// that ends where the last command left it is not repeated.
func (s *Scheduler) Run(ctx context.Context) error {
	p := s.cfg.Pattern
	clock := s.now
	if clock == nil {
		clock = time.Now
	}
	t0 := s.cfg.Start
	if t0.IsZero() {
		t0 = clock()
	}
	subject := schemas.Subject(s.cfg.RunID, schemas.KindScale)
	end := p.Duration()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	waitUntil := func(at time.Duration) error {
		if d := t0.Add(at).Sub(clock()); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		// Checked even when the timer won, so that a cancelled run publishes nothing more.
		return ctx.Err()
	}
	var seq uint64
	// send stamps cmd as the next command, due at `at`, and publishes it.
	send := func(at time.Duration, cmd schemas.ScaleCommand) error {
		seq++
		cmd.SchemaVersion, cmd.RunID, cmd.Seq = schemas.Version, s.cfg.RunID, seq
		cmd.AtNs, cmd.ElapsedNs = t0.Add(at).UnixNano(), int64(at)
		cmd.EndNs = t0.Add(end).UnixNano()
		if err := s.conn.Publish(subject, &cmd); err != nil {
			return fmt.Errorf("scheduler: scale command %d: %w", seq, err)
		}
		return nil
	}
	publish := func(at time.Duration, vus int, done bool) error {
		return send(at, schemas.ScaleCommand{TargetVUs: vus, Done: done})
	}
	if p.Rate != nil {
		if err := s.followRate(*p.Rate, waitUntil, send); err != nil {
			return err
		}
		return s.flush(ctx)
	}

	at := time.Duration(0)
	vus, _ := p.Target(0)
	published, lastVUs := false, 0
	for {
		if err := waitUntil(at); err != nil {
			return err
		}
		now := clock().Sub(t0)
		if now >= end {
			break
		}
		for at < now-timerSlack {
			next, nextVUs, ok := p.NextChange(at)
			if !ok || next > now {
				break
			}
			at, vus = next, nextVUs
		}
		// Collapsed changes may return to the last published target: nothing to say then.
		if !published || vus != lastVUs {
			if err := publish(at, vus, false); err != nil {
				return err
			}
			published, lastVUs = true, vus
		}
		next, nextVUs, ok := nextCommand(p, at)
		if !ok {
			break
		}
		at, vus = next, nextVUs
	}

	if err := waitUntil(end); err != nil {
		return err
	}
	final, _ := p.Target(end)
	if err := publish(end, final, true); err != nil {
		return err
	}
	return s.flush(ctx)
}

// flush waits for the last command to reach the server.
func (s *Scheduler) flush(ctx context.Context) error {
	flushCtx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	if err := s.conn.Flush(flushCtx); err != nil {
		return fmt.Errorf("scheduler: flush scale commands: %w", err)
	}
	return nil
}

// followRate runs an open-model pattern. The workers derive every arrival
// from the pattern and t0 alone, so one command at t0 carrying the whole
// pattern is all they need; a command at each stage boundary tells taps the
// rate, and the last, at the end, is done. Every command carries the whole
// pattern, so a worker that missed the first loses nothing.
func (s *Scheduler) followRate(r pattern.RatePattern, waitUntil func(time.Duration) error,
	send func(time.Duration, schemas.ScaleCommand) error) error {
	sched, err := r.Schedule()
	if err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	wire := r.Wire()
	command := func(at time.Duration, done bool) schemas.ScaleCommand {
		return schemas.ScaleCommand{TargetVUs: r.PreAllocatedVUs, Arrivals: wire, Rate: sched.Rate(at), Done: done}
	}
	if err := send(0, command(0, false)); err != nil {
		return err
	}
	for _, at := range r.Boundaries() {
		if err := waitUntil(at); err != nil {
			return err
		}
		if err := send(at, command(at, false)); err != nil {
			return err
		}
	}
	end := sched.Duration()
	if err := waitUntil(end); err != nil {
		return err
	}
	return send(end, command(end, true))
}
