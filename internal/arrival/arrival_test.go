package arrival

import (
	"math"
	"strings"
	"testing"
	"time"
)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// Each row states the arrivals a plan means, worked out by hand from
// Tᵢ = inf{t : N(t) > i}.
func TestArrivalTimes(t *testing.T) {
	cases := []struct {
		name   string
		stages []Stage
		total  uint64
		at     map[uint64]time.Duration
	}{
		{
			name:   "constant 2000/s for 5s",
			stages: []Stage{{0, 2000}, {5 * time.Second, 2000}},
			total:  10_000,
			at:     map[uint64]time.Duration{0: 0, 1: ms(0.5), 2000: time.Second, 9999: ms(4999.5)},
		},
		{
			// N(t) = 5t², so Tᵢ = √(i/5).
			name:   "ramp 0 to 100/s over 10s",
			stages: []Stage{{10 * time.Second, 100}},
			total:  500,
			at:     map[uint64]time.Duration{0: 0, 5: time.Second, 20: 2 * time.Second, 320: 8 * time.Second, 499: time.Duration(math.Round(math.Sqrt(499.0/5) * 1e9))},
		},
		{
			// N(t) = 100t − 5t², so Tᵢ = 10 − √(100 − i/5).
			name:   "ramp down 100 to 0/s over 10s",
			stages: []Stage{{0, 100}, {10 * time.Second, 0}},
			total:  500,
			at:     map[uint64]time.Duration{0: 0, 95: time.Second, 180: 2 * time.Second, 499: time.Duration(math.Round((10 - math.Sqrt(100-499.0/5)) * 1e9))},
		},
		{
			name:   "nothing for 10s, then 50/s for 2s",
			stages: []Stage{{10 * time.Second, 0}, {0, 50}, {2 * time.Second, 50}},
			total:  100,
			at:     map[uint64]time.Duration{0: 10 * time.Second, 1: ms(10_020), 99: ms(11_980)},
		},
		{
			name:   "half an arrival per second for 5s",
			stages: []Stage{{0, 0.5}, {5 * time.Second, 0.5}},
			total:  3,
			at:     map[uint64]time.Duration{0: 0, 1: 2 * time.Second, 2: 4 * time.Second},
		},
		{
			name:   "3.3/s for 3s",
			stages: []Stage{{0, 3.3}, {3 * time.Second, 3.3}},
			total:  10,
			at:     map[uint64]time.Duration{9: time.Duration(math.Round(9 / 3.3 * 1e9))},
		},
		{
			// 10/s × 0.7 s is 6.999… in float64; the plan means 7.
			name:   "10/s for 700ms",
			stages: []Stage{{0, 10}, {700 * time.Millisecond, 10}},
			total:  7,
			at:     map[uint64]time.Duration{6: 600 * time.Millisecond},
		},
		{
			name:   "step 100/s then 200/s",
			stages: []Stage{{0, 100}, {time.Second, 100}, {0, 200}, {time.Second, 200}},
			total:  300,
			at:     map[uint64]time.Duration{99: ms(990), 100: time.Second, 101: ms(1005), 299: ms(1995)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := New(c.stages)
			if err != nil {
				t.Fatal(err)
			}
			if s.Total() != c.total {
				t.Errorf("total %d, want %d", s.Total(), c.total)
			}
			if s.Count(s.Duration()) != c.total {
				t.Errorf("count at the end %d, want %d", s.Count(s.Duration()), c.total)
			}
			for i, want := range c.at {
				got, ok := s.At(i)
				if !ok || absDiff(got, want) > time.Microsecond {
					t.Errorf("At(%d) = %v, %v; want %v", i, got, ok, want)
				}
			}
			if _, ok := s.At(c.total); ok {
				t.Errorf("At(%d) exists past the total", c.total)
			}
			checkConsistent(t, s)
		})
	}
}

func absDiff(a, b time.Duration) time.Duration {
	if a > b {
		return a - b
	}
	return b - a
}

// checkConsistent walks every arrival: times never decrease, all lie in
// [0, Duration), and Count agrees with At on both sides of each.
func checkConsistent(t *testing.T, s *Schedule) {
	t.Helper()
	var prev time.Duration
	limit := min(s.Total(), 200_000)
	for i := uint64(0); i < limit; i++ {
		at, ok := s.At(i)
		if !ok {
			t.Fatalf("At(%d) missing below the total %d", i, s.Total())
		}
		if at < prev || at < 0 || at >= s.Duration() {
			t.Fatalf("At(%d) = %v after %v, duration %v", i, at, prev, s.Duration())
		}
		if c := s.Count(at); c > i {
			t.Fatalf("Count(At(%d) = %v) = %d: counts arrivals not yet due", i, at, c)
		}
		if c := s.Count(at + 1); c < i+1 {
			t.Fatalf("Count(At(%d)+1ns) = %d: misses due arrivals", i, c)
		}
		prev = at
	}
}

func TestCountAndRate(t *testing.T) {
	s, err := New([]Stage{{0, 100}, {2 * time.Second, 100}, {2 * time.Second, 300}})
	if err != nil {
		t.Fatal(err)
	}
	// 200 in the flat part, then (100+300)/2 × 2 = 400 in the ramp.
	for _, c := range []struct {
		at    time.Duration
		count uint64
		rate  float64
	}{
		{0, 0, 100},
		{ms(5), 1, 100},
		{time.Second, 100, 100},
		{2 * time.Second, 200, 100},
		{3 * time.Second, 200 + 150, 200},
		{4 * time.Second, 600, 300},
		{time.Hour, 600, 300},
	} {
		if got := s.Count(c.at); got != c.count {
			t.Errorf("Count(%v) = %d, want %d", c.at, got, c.count)
		}
		if got := s.Rate(c.at); math.Abs(got-c.rate) > 1e-9 {
			t.Errorf("Rate(%v) = %v, want %v", c.at, got, c.rate)
		}
	}
	if s.Peak() != 300 || s.Duration() != 4*time.Second {
		t.Errorf("peak %v, duration %v", s.Peak(), s.Duration())
	}
}

func TestNewRejects(t *testing.T) {
	for name, c := range map[string]struct {
		stages []Stage
		msg    string
	}{
		"none":          {nil, "no rate stages"},
		"negative rate": {[]Stage{{time.Second, -1}}, "stage 1: rate -1"},
		"NaN rate":      {[]Stage{{time.Second, 1}, {time.Second, math.NaN()}}, "stage 2: rate NaN"},
		"huge rate":     {[]Stage{{time.Second, MaxRate * 2}}, "stage 1: rate"},
		"negative time": {[]Stage{{-time.Second, 1}}, "duration -1s is negative"},
		"no time":       {[]Stage{{0, 5}}, "last 0s"},
		"overflow":      {[]Stage{{math.MaxInt64, 1}, {1, 1}}, "total duration exceeds"},
		"too many":      {[]Stage{{0, MaxRate}, {100_000 * time.Hour, MaxRate}}, "more than"},
	} {
		_, err := New(c.stages)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err %v, want %q", name, err, c.msg)
		}
	}
}

// FuzzSchedule: any stages New accepts give a consistent timetable.
func FuzzSchedule(f *testing.F) {
	f.Add(int64(time.Second), 100.0, int64(0), 0.0, int64(time.Second), 50.0)
	f.Add(int64(0), 7.5, int64(3*time.Second), 7.5, int64(0), 0.0)
	f.Add(int64(time.Millisecond), 1e6, int64(time.Millisecond), 0.0, int64(time.Millisecond), 3.3)
	f.Fuzz(func(t *testing.T, d1 int64, r1 float64, d2 int64, r2 float64, d3 int64, r3 float64) {
		s, err := New([]Stage{{time.Duration(d1), r1}, {time.Duration(d2), r2}, {time.Duration(d3), r3}})
		if err != nil || s.Total() > 50_000 {
			return
		}
		checkConsistent(t, s)
		if got := s.Count(s.Duration()); got != s.Total() {
			t.Fatalf("count at the end %d, total %d", got, s.Total())
		}
	})
}
