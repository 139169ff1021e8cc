// Package arrival is the open model's timetable: from a plan's arrival-rate
// stages alone it gives the intended time of every arrival (iteration start).
// The scheduler validates and announces the stages; each worker derives the
// same times from them, so an arrival's intended time never depends on a
// response, on when a message was delivered, or on which process computes it.
//
// The rate r(t) is piecewise linear: each stage goes linearly from the
// previous stage's rate (0 before the first) to its own over its duration; a
// stage of zero duration is a jump. N(t) = ∫₀ᵗ r is the expected number of
// arrivals by t, and arrival i (from 0) is due at the first instant N passes
// i: Tᵢ = inf{t : N(t) > i}. A constant rate R thus gives Tᵢ = i/R, and a run
// of duration D holds the arrivals with Tᵢ < D: exactly R·D of them when R·D
// is whole.
package arrival

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Stage moves the rate linearly from the previous stage's rate (0 before the
// first) to Rate arrivals per second over Duration.
type Stage struct {
	Duration time.Duration
	Rate     float64
}

// Bounds that keep every figure exact in float64 and every time in int64.
const (
	// MaxRate bounds a stage's rate (arrivals per second).
	MaxRate = 10_000_000
	// MaxArrivals bounds a schedule's arrivals: float64 counts them exactly.
	MaxArrivals = 1 << 50
)

// Schedule is a validated list of stages, ready to answer At and Count.
// Its methods are pure and safe for concurrent use.
type Schedule struct {
	stages []Stage
	from   []float64       // the rate each stage starts at
	starts []time.Duration // each stage's start offset; one more entry: the end
	cum    []float64       // arrivals expected before each stage; one more entry: the total
	total  uint64
}

// New validates stages and compiles them.
func New(stages []Stage) (*Schedule, error) {
	if len(stages) == 0 {
		return nil, errors.New("no rate stages")
	}
	s := &Schedule{
		stages: append([]Stage(nil), stages...),
		from:   make([]float64, len(stages)),
		starts: make([]time.Duration, len(stages)+1),
		cum:    make([]float64, len(stages)+1),
	}
	prev := 0.0
	for i, st := range stages {
		switch {
		case math.IsNaN(st.Rate) || st.Rate < 0 || st.Rate > MaxRate:
			return nil, fmt.Errorf("rate stage %d: rate %v must be 0 to %d per second", i+1, st.Rate, MaxRate)
		case st.Duration < 0:
			return nil, fmt.Errorf("rate stage %d: duration %s is negative", i+1, st.Duration)
		case st.Duration > math.MaxInt64-s.starts[i]:
			return nil, fmt.Errorf("rate stage %d: total duration exceeds %s", i+1, time.Duration(math.MaxInt64))
		}
		s.from[i] = prev
		s.starts[i+1] = s.starts[i] + st.Duration
		// The area under the line: the stage's expected arrivals.
		s.cum[i+1] = snap(s.cum[i] + (prev+st.Rate)/2*st.Duration.Seconds())
		prev = st.Rate
		if s.cum[i+1] > MaxArrivals {
			return nil, fmt.Errorf("rate stage %d: more than %d arrivals in all", i+1, int64(MaxArrivals))
		}
	}
	if s.starts[len(stages)] == 0 {
		return nil, errors.New("rate stages last 0s in all")
	}
	s.total = uint64(math.Ceil(s.cum[len(stages)]))
	return s, nil
}

// snap rounds a cumulative count that float arithmetic left a hair away from
// a whole number (7 × 0.1 s at 10/s is 6.999…), so that a plan that means
// whole arrivals gets exactly them.
func snap(c float64) float64 {
	if r := math.Round(c); math.Abs(c-r) <= 1e-9*math.Max(1, r) {
		return r
	}
	return c
}

// Duration is the schedule's length: arrivals are due in [0, Duration).
func (s *Schedule) Duration() time.Duration { return s.starts[len(s.stages)] }

// Total is the number of arrivals in the schedule.
func (s *Schedule) Total() uint64 { return s.total }

// At is arrival i's intended offset from the run's time zero, and false when
// the schedule holds no arrival i. Offsets never decrease with i and are
// always below Duration.
func (s *Schedule) At(i uint64) (time.Duration, bool) {
	if i >= s.total {
		return 0, false
	}
	x := float64(i)
	n := len(s.stages)
	// The stage in which N passes x: the first whose end count exceeds x. It
	// has a positive duration (its count grows) and starts at or below x.
	// Since i < total = ⌈cum[n]⌉, such a stage exists.
	k := min(sort.Search(n, func(k int) bool { return s.cum[k+1] > x }), n-1)
	st := s.stages[k]
	secs := solve(s.from[k], st.Rate, st.Duration.Seconds(), x-s.cum[k])
	off := time.Duration(math.Round(secs * 1e9))
	// Rounding must not carry an arrival into the next stage or past the end.
	off = min(max(off, 0), max(st.Duration-1, 0))
	return s.starts[k] + off, true
}

// solve is the smallest x in [0, T] with r0·x + (r1−r0)·x²/(2T) = m, for a
// count m within the stage, written so that it stays exact for a flat line
// and stable for a nearly flat one.
func solve(r0, r1, T, m float64) float64 {
	if m <= 0 {
		return 0
	}
	disc := r0*r0 + 2*(r1-r0)*m/T
	den := r0 + math.Sqrt(max(disc, 0))
	if den <= 0 {
		return T
	}
	return min(2*m/den, T)
}

// Count is the number of arrivals due before elapsed: those with At(i) < elapsed.
func (s *Schedule) Count(elapsed time.Duration) uint64 {
	if elapsed <= 0 {
		return 0
	}
	if elapsed >= s.Duration() {
		return s.total
	}
	c := min(uint64(math.Ceil(s.expected(elapsed))), s.total)
	// Rounding can put the estimate one off either way; At settles it.
	for c > 0 {
		if at, _ := s.At(c - 1); at < elapsed {
			break
		}
		c--
	}
	for c < s.total {
		if at, _ := s.At(c); at >= elapsed {
			break
		}
		c++
	}
	return c
}

// expected is N(elapsed), the arrivals expected by elapsed.
func (s *Schedule) expected(elapsed time.Duration) float64 {
	k := s.stageAt(elapsed)
	if k == len(s.stages) {
		return s.cum[k]
	}
	st := s.stages[k]
	x := (elapsed - s.starts[k]).Seconds()
	T := st.Duration.Seconds()
	return s.cum[k] + s.from[k]*x + (st.Rate-s.from[k])*x*x/(2*T)
}

// stageAt is the stage holding elapsed (at a boundary, the later stage), or
// len(stages) at and past the end.
func (s *Schedule) stageAt(elapsed time.Duration) int {
	n := len(s.stages)
	// The first stage that ends after elapsed; zero-length stages end where they start.
	return sort.Search(n, func(k int) bool { return s.starts[k+1] > elapsed })
}

// Rate is the arrival rate at elapsed, per second; at a boundary the later
// stage applies, and past the end it is the last stage's.
func (s *Schedule) Rate(elapsed time.Duration) float64 {
	elapsed = max(elapsed, 0)
	k := s.stageAt(elapsed)
	if k == len(s.stages) {
		return s.stages[k-1].Rate
	}
	st := s.stages[k]
	frac := float64(elapsed-s.starts[k]) / float64(st.Duration)
	return s.from[k] + (st.Rate-s.from[k])*frac
}

// Peak is the highest rate of the schedule, per second.
func (s *Schedule) Peak() float64 {
	peak := 0.0
	for _, st := range s.stages {
		peak = max(peak, st.Rate)
	}
	return peak
}
