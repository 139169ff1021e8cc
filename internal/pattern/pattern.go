// Package pattern holds the load patterns: pure functions of elapsed time
// that the scheduler follows and a plan compiles to. A closed-model pattern
// sets the number of VUs; an open-model one (a RatePattern) sets the rate at
// which iterations start. The package links no bus, so parsing a plan does
// not either; `loadforge validate` prints the same code's timeline that the
// scheduler follows.
//
// # Patterns
//
// A Pattern is a list of stages, as with k6's --stage: each stage goes linearly
// from the previous stage's target (0 before the first) to its own target over
// its duration; a stage of zero duration is an instant jump. The named patterns
// compile to stages:
//
//	Constant(10, 30s)              {0,10} {30s,10}
//	Ramp(0, 100, 1m)               {0,0} {1m,100}
//	Step(10, 5, 10s, 3)            {0,10} {10s,10} {0,15} {10s,15} … {0,25} {10s,25}
//	Spike(5, 50, 10s, 5s, 30s)     {0,5} {10s,5} {0,50} {5s,50} {0,5} {15s,5}
//
// Target(elapsed) is the line's value rounded half up, and at a boundary the
// later stage applies, so a jump at t holds from t on. NextChange(elapsed)
// solves the lines for the next time the rounded target moves, so the
// scheduler sleeps from change to change instead of polling: a ramp from 0 to
// 10000 VUs over 10 s yields exactly 10000 changes, one per integer. No clock
// is involved, so the timeline printed by `loadforge validate` is the one a run
// follows.
package pattern

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"time"
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
	// Rate, when set, makes the pattern an open model instead: iterations
	// start at the rate it sets, and Stages must be empty.
	Rate *RatePattern
}

// Open reports whether the pattern is an open model (an arrival rate).
func (p Pattern) Open() bool { return p.Rate != nil }

// Constant holds vus VUs for d.
func Constant(vus int, d time.Duration) Pattern {
	return Pattern{Stages: []Stage{{0, vus}, {d, vus}}}
}

// Ramp goes linearly from `from` to `to` VUs over d (starting at `from` at once).
func Ramp(from, to int, d time.Duration) Pattern {
	return Pattern{Stages: []Stage{{0, from}, {d, to}}}
}

// Step starts at `start` VUs and adds `step` VUs every `every`, `steps` times
// (steps+1 plateaus of `every` each).
// A negative steps counts as 0: the pattern is then the single first plateau.
func Step(start, step int, every time.Duration, steps int) Pattern {
	steps = max(steps, 0)
	stages := make([]Stage, 0, 2*(steps+1))
	for k := 0; k <= steps; k++ {
		vus := start + k*step
		stages = append(stages, Stage{0, vus}, Stage{every, vus})
	}
	return Pattern{Stages: stages}
}

// Spike holds `base` VUs, jumps to `peak` at `at` for `hold`, then returns to
// `base` until `total` has elapsed.
// When at+hold exceeds total the last stage's duration is negative and Validate
// rejects the pattern.
func Spike(base, peak int, at, hold, total time.Duration) Pattern {
	return Pattern{Stages: []Stage{
		{0, base}, {at, base},
		{0, peak}, {hold, peak},
		{0, base}, {total - at - hold, base},
	}}
}

// Validate reports the first bad stage as an error naming it, e.g.
// `stage 2: target -5 is negative`; a pattern must have a positive duration.
func (p Pattern) Validate() error {
	if p.Rate != nil {
		if len(p.Stages) > 0 {
			return errors.New("pattern has both VU stages and an arrival rate")
		}
		return p.Rate.Validate()
	}
	if len(p.Stages) == 0 {
		return errors.New("pattern has no stages")
	}
	var total time.Duration
	for i, s := range p.Stages {
		if s.Target < 0 {
			return fmt.Errorf("stage %d: target %d is negative", i+1, s.Target)
		}
		if s.Duration < 0 {
			return fmt.Errorf("stage %d: duration %s is negative", i+1, s.Duration)
		}
		if s.Duration > math.MaxInt64-total {
			return fmt.Errorf("stage %d: total duration exceeds %s", i+1, time.Duration(math.MaxInt64))
		}
		total += s.Duration
	}
	if total == 0 {
		return errors.New("pattern has zero total duration")
	}
	return nil
}

// The methods below never panic, even on a pattern Validate rejects: they read a
// negative target as 0 and a negative duration as an instant jump, and cut a
// total that would overflow at the longest time.Duration.

// stageSpan is how long stage s lasts when it begins at start.
func stageSpan(s Stage, start time.Duration) time.Duration {
	return min(max(s.Duration, 0), math.MaxInt64-start)
}

// Duration is the pattern's total length.
func (p Pattern) Duration() time.Duration {
	if p.Rate != nil {
		return p.Rate.Duration()
	}
	var total time.Duration
	for _, s := range p.Stages {
		total += stageSpan(s, total)
	}
	return total
}

// Target is the number of VUs the pattern wants at elapsed (the linear value
// rounded to the nearest integer) and whether the pattern has ended.
// At a stage boundary the later stage applies, so a jump takes effect at its
// own time; once ended, the target is the last stage's.
func (p Pattern) Target(elapsed time.Duration) (vus int, done bool) {
	elapsed = max(elapsed, 0)
	var start time.Duration
	from := 0
	for _, s := range p.Stages {
		span := stageSpan(s, start)
		to := max(s.Target, 0)
		if elapsed < start+span {
			return linear(from, to, span, elapsed-start), false
		}
		start += span
		from = to
	}
	return from, true
}

// NextChange is the first time strictly after elapsed at which Target changes,
// and the new target; ok is false when no change follows (then the next event is the end).
// It solves each stage's line for the time its rounded value first differs, so
// its cost is one pass over the stages whatever the rate of change.
func (p Pattern) NextChange(elapsed time.Duration) (at time.Duration, vus int, ok bool) {
	elapsed = max(elapsed, 0)
	cur, done := p.Target(elapsed)
	if done {
		return 0, 0, false
	}
	var start time.Duration
	from := 0
	for _, s := range p.Stages {
		span := stageSpan(s, start)
		to := max(s.Target, 0)
		end := start + span
		// Zero-length stages only move `from`; the stage covering elapsed and
		// every later one are searched in time order.
		if span > 0 && elapsed < end {
			if start > elapsed && from != cur {
				// The jumps (or the previous stage's end) land on a new value here.
				return start, from, true
			}
			if x, found := firstChange(from, to, span, cur); found && x < span {
				return start + x, linear(from, to, span, x), true
			}
		}
		start = end
		from = to
	}
	return 0, 0, false
}

// linear is the rounded (half up) value at offset x of a stage going from `from`
// to `to` over span > 0: floor((2*(from*(span-x) + to*x) + span) / (2*span)).
// It uses 128-bit arithmetic so no target or duration can overflow it.
func linear(from, to int, span, x time.Duration) int {
	h1, l1 := bits.Mul64(uint64(from), uint64(span-x))
	h2, l2 := bits.Mul64(uint64(to), uint64(x))
	lo, carry := bits.Add64(l1, l2, 0)
	hi := h1 + h2 + carry
	hi, lo = hi<<1|lo>>63, lo<<1
	lo, carry = bits.Add64(lo, uint64(span), 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, 2*uint64(span))
	return int(q)
}

// firstChange is the smallest offset x in a stage going from `from` to `to` over
// span at which the rounded value differs from cur, which must be the rounded
// value somewhere in the stage. found is false when the value never leaves cur
// in the stage's direction; x may equal or exceed span (no change inside).
func firstChange(from, to int, span time.Duration, cur int) (x time.Duration, found bool) {
	switch {
	case to > from && cur < to:
		// Up to cur+1 once 2*(to-from)*x >= span*(2*(cur-from)+1).
		return ceilDiv(uint64(span), 2*uint64(cur-from)+1, 2*uint64(to-from)), true
	case to < from && cur > to:
		// Down to cur-1 once 2*(from-to)*x > span*(2*(from-cur)+1).
		return floorDiv(uint64(span), 2*uint64(from-cur)+1, 2*uint64(from-to)) + 1, true
	default:
		return 0, false
	}
}

// floorDiv is floor(a*b/d) for a*b/d < 2^63 (here always below span).
func floorDiv(a, b, d uint64) time.Duration {
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, d)
	return time.Duration(q)
}

// ceilDiv is ceil(a*b/d) for a*b/d < 2^63 (here always below span).
func ceilDiv(a, b, d uint64) time.Duration {
	hi, lo := bits.Mul64(a, b)
	q, r := bits.Div64(hi, lo, d)
	if r != 0 {
		q++
	}
	return time.Duration(q)
}

// Point is one row of a printed timeline.
type Point struct {
	At  time.Duration
	VUs int
}

// maxTimelinePrealloc bounds the up-front allocation for a fine step over a
// long pattern; the slice still grows to whatever the caller asked for.
const maxTimelinePrealloc = 1 << 12

// Timeline samples the pattern every step from 0 to its end inclusive; validate prints it.
// When the end is not a multiple of step it is added as the last point, so
// the timeline always shows the final target. A step <= 0 gives nil.
func (p Pattern) Timeline(step time.Duration) []Point {
	if step <= 0 {
		return nil
	}
	total := p.Duration()
	points := make([]Point, 0, min(total/step, maxTimelinePrealloc)+2)
	for at := time.Duration(0); ; at += step {
		vus, _ := p.Target(at)
		points = append(points, Point{At: at, VUs: vus})
		if at >= total {
			return points
		}
		if at > total-step {
			vus, _ := p.Target(total)
			return append(points, Point{At: total, VUs: vus})
		}
	}
}
