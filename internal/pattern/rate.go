package pattern

import (
	"errors"
	"fmt"
	"time"

	"github.com/loadforge/loadforge/internal/arrival"
)

// RateStage moves the arrival rate linearly from the previous stage's rate
// (0 before the first) to Rate iterations per second over Duration; a zero
// Duration jumps at once.
type RateStage struct {
	Duration time.Duration
	Rate     float64
}

// RatePattern is an open-model load pattern: iterations start at a rate that
// follows the stages whatever the responses do (k6's arrival-rate executors,
// wrk2's -R). Arrival i is due at inf{t : N(t) > i}, N being the integral of
// the rate; see package arrival. The pool starts with PreAllocatedVUs and
// grows, one VU per arrival that finds none free, up to MaxVUs; an arrival
// that finds no free VU at the cap is dropped.
type RatePattern struct {
	Stages          []RateStage
	MaxVUs          int
	PreAllocatedVUs int
}

// ConstantRate starts rate iterations per second for d.
func ConstantRate(rate float64, d time.Duration) RatePattern {
	return RatePattern{Stages: []RateStage{{0, rate}, {d, rate}}}
}

// RampingRate follows the given stages, from a rate of 0.
func RampingRate(stages ...RateStage) RatePattern {
	return RatePattern{Stages: stages}
}

// Schedule compiles the stages; the error names the first bad one.
func (r RatePattern) Schedule() (*arrival.Schedule, error) {
	stages := make([]arrival.Stage, len(r.Stages))
	for i, s := range r.Stages {
		stages[i] = arrival.Stage{Duration: s.Duration, Rate: s.Rate}
	}
	return arrival.New(stages)
}

// Validate reports the first problem: a bad stage, no arrivals at all, or a
// pool that cannot work.
func (r RatePattern) Validate() error {
	s, err := r.Schedule()
	if err != nil {
		return err
	}
	switch {
	case s.Total() == 0:
		return errors.New("the rate stages start no iteration")
	case r.MaxVUs < 1:
		return fmt.Errorf("max VUs %d: must be at least 1", r.MaxVUs)
	case r.PreAllocatedVUs < 0 || r.PreAllocatedVUs > r.MaxVUs:
		return fmt.Errorf("pre-allocated VUs %d: must be 0 to max VUs (%d)", r.PreAllocatedVUs, r.MaxVUs)
	}
	return nil
}

// Duration is the pattern's length; zero when the stages are invalid.
func (r RatePattern) Duration() time.Duration {
	s, err := r.Schedule()
	if err != nil {
		return 0
	}
	return s.Duration()
}

// Arrivals is the number of iterations the pattern starts before elapsed
// (all of them at or past its end); zero when the stages are invalid.
func (r RatePattern) Arrivals(elapsed time.Duration) uint64 {
	s, err := r.Schedule()
	if err != nil {
		return 0
	}
	return s.Count(elapsed)
}

// RatePoint is one row of a printed open-model timeline.
type RatePoint struct {
	At       time.Duration
	Rate     float64 // per second, at At
	Arrivals uint64  // iterations started before At
}

// Timeline samples the rate and the arrivals so far every step from 0 to the
// end inclusive, the end added when it is not a multiple of step; validate
// prints it. A step <= 0 or invalid stages give nil.
func (r RatePattern) Timeline(step time.Duration) []RatePoint {
	s, err := r.Schedule()
	if err != nil || step <= 0 {
		return nil
	}
	total := s.Duration()
	points := make([]RatePoint, 0, min(total/step, maxTimelinePrealloc)+2)
	point := func(at time.Duration) RatePoint {
		return RatePoint{At: at, Rate: s.Rate(at), Arrivals: s.Count(at)}
	}
	for at := time.Duration(0); ; at += step {
		points = append(points, point(at))
		if at >= total {
			return points
		}
		if at > total-step {
			return append(points, point(total))
		}
	}
}

// Boundaries are the elapsed times, after 0 and before the end, at which a
// stage begins: where the rate's slope changes.
func (r RatePattern) Boundaries() []time.Duration {
	var out []time.Duration
	var at time.Duration
	for _, s := range r.Stages[:len(r.Stages)-1] {
		at += s.Duration
		if at > 0 && (len(out) == 0 || out[len(out)-1] != at) {
			out = append(out, at)
		}
	}
	if n := len(out); n > 0 && out[n-1] >= r.Duration() {
		out = out[:n-1]
	}
	return out
}
