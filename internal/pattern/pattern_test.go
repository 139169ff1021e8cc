package pattern

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

const ms = time.Millisecond

type sample struct {
	at   time.Duration
	vus  int
	done bool
}

func checkSamples(t *testing.T, p Pattern, samples []sample) {
	t.Helper()
	for _, s := range samples {
		vus, done := p.Target(s.at)
		if vus != s.vus || done != s.done {
			t.Errorf("Target(%v) = %d, %v; want %d, %v", s.at, vus, done, s.vus, s.done)
		}
	}
}

func TestConstructors(t *testing.T) {
	tests := []struct {
		name     string
		p        Pattern
		duration time.Duration
		samples  []sample
	}{
		{
			name:     "constant",
			p:        Constant(7, 3*time.Second),
			duration: 3 * time.Second,
			samples: []sample{
				{0, 7, false}, {1500 * ms, 7, false}, {3*time.Second - 1, 7, false},
				{3 * time.Second, 7, true}, {time.Hour, 7, true},
			},
		},
		{
			name:     "ramp up starts at from",
			p:        Ramp(10, 20, 10*time.Second),
			duration: 10 * time.Second,
			samples: []sample{
				{0, 10, false}, {time.Second, 11, false}, {5 * time.Second, 15, false},
				{10*time.Second - 1, 20, false}, {10 * time.Second, 20, true},
			},
		},
		{
			name:     "ramp down",
			p:        Ramp(100, 0, 10*time.Second),
			duration: 10 * time.Second,
			samples: []sample{
				{0, 100, false}, {2500 * ms, 75, false}, {9900 * ms, 1, false},
				{10 * time.Second, 0, true},
			},
		},
		{
			name:     "step: steps+1 plateaus, each jump at its boundary",
			p:        Step(10, 5, 2*time.Second, 3),
			duration: 8 * time.Second,
			samples: []sample{
				{0, 10, false}, {2*time.Second - 1, 10, false},
				{2 * time.Second, 15, false}, {4 * time.Second, 20, false},
				{6 * time.Second, 25, false}, {8*time.Second - 1, 25, false},
				{8 * time.Second, 25, true},
			},
		},
		{
			name:     "step down",
			p:        Step(30, -10, time.Second, 2),
			duration: 3 * time.Second,
			samples:  []sample{{0, 30, false}, {time.Second, 20, false}, {2 * time.Second, 10, false}, {3 * time.Second, 10, true}},
		},
		{
			name:     "step with negative steps is one plateau",
			p:        Step(4, 1, time.Second, -3),
			duration: time.Second,
			samples:  []sample{{0, 4, false}, {time.Second, 4, true}},
		},
		{
			name:     "spike",
			p:        Spike(5, 50, 3*time.Second, 2*time.Second, 10*time.Second),
			duration: 10 * time.Second,
			samples: []sample{
				{0, 5, false}, {3*time.Second - 1, 5, false},
				{3 * time.Second, 50, false}, {5*time.Second - 1, 50, false},
				{5 * time.Second, 5, false}, {10*time.Second - 1, 5, false},
				{10 * time.Second, 5, true},
			},
		},
		{
			name:     "spike at zero",
			p:        Spike(1, 9, 0, time.Second, 2*time.Second),
			duration: 2 * time.Second,
			samples:  []sample{{0, 9, false}, {time.Second, 1, false}, {2 * time.Second, 1, true}},
		},
		{
			name:     "spike up to the end",
			p:        Spike(1, 9, time.Second, time.Second, 2*time.Second),
			duration: 2 * time.Second,
			samples:  []sample{{time.Second, 9, false}, {2*time.Second - 1, 9, false}, {2 * time.Second, 1, true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if got := tt.p.Duration(); got != tt.duration {
				t.Errorf("Duration = %v, want %v", got, tt.duration)
			}
			checkSamples(t, tt.p, tt.samples)
		})
	}
}

func TestSpikeLongerThanTotalIsInvalid(t *testing.T) {
	p := Spike(1, 9, 2*time.Second, 2*time.Second, 3*time.Second)
	if err := p.Validate(); err == nil {
		t.Fatal("Validate accepted a spike that ends after the pattern")
	}
}

func TestTarget(t *testing.T) {
	tests := []struct {
		name    string
		p       Pattern
		samples []sample
	}{
		{
			name: "stages ramp then hold",
			p:    Pattern{Stages: []Stage{{4 * time.Second, 20}, {2 * time.Second, 20}}},
			samples: []sample{
				{0, 0, false}, {time.Second, 5, false}, {2 * time.Second, 10, false},
				{3 * time.Second, 15, false}, {4 * time.Second, 20, false},
				{5 * time.Second, 20, false}, {6 * time.Second, 20, true},
			},
		},
		{
			name: "half rounds up on the way up",
			p:    Ramp(0, 1, 2*time.Second),
			samples: []sample{
				{time.Second - 1, 0, false}, {time.Second, 1, false},
			},
		},
		{
			name: "half rounds up on the way down",
			p:    Ramp(1, 0, 2*time.Second),
			samples: []sample{
				{time.Second, 1, false}, {time.Second + 1, 0, false}, {2 * time.Second, 0, true},
			},
		},
		{
			name: "negative elapsed reads as zero",
			p:    Ramp(3, 9, time.Second),
			samples: []sample{
				{-time.Hour, 3, false}, {-1, 3, false},
			},
		},
		{
			name: "several jumps at one time: the last wins",
			p:    Pattern{Stages: []Stage{{time.Second, 0}, {0, 5}, {0, 9}, {time.Second, 9}}},
			samples: []sample{
				{time.Second - 1, 0, false}, {time.Second, 9, false}, {2 * time.Second, 9, true},
			},
		},
		{
			name: "jump at the end sets the final target",
			p:    Pattern{Stages: []Stage{{time.Second, 4}, {0, 0}}},
			samples: []sample{
				{time.Second - 1, 4, false}, {time.Second, 0, true},
			},
		},
		{
			name: "ramp from a jump",
			p:    Pattern{Stages: []Stage{{0, 10}, {10 * time.Second, 0}}},
			samples: []sample{
				{0, 10, false}, {5 * time.Second, 5, false}, {10 * time.Second, 0, true},
			},
		},
		{
			name: "huge targets and durations do not overflow",
			p:    Ramp(0, math.MaxInt64, time.Duration(math.MaxInt64)),
			samples: []sample{
				{time.Duration(math.MaxInt64 / 2), math.MaxInt64 / 2, false},
				{time.Duration(math.MaxInt64), math.MaxInt64, true},
			},
		},
		{
			name:    "huge half rounds up",
			p:       Ramp(0, math.MaxInt64, 2),
			samples: []sample{{1, math.MaxInt64/2 + 1, false}},
		},
		{
			name:    "no stages has ended at once",
			p:       Pattern{},
			samples: []sample{{0, 0, true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSamples(t, tt.p, tt.samples) })
	}
}

type change struct {
	at  time.Duration
	vus int
}

// changes follows NextChange from 0 to the end of p, at most limit times.
func changes(p Pattern, limit int) []change {
	var out []change
	at := time.Duration(0)
	for range limit {
		next, vus, ok := p.NextChange(at)
		if !ok {
			break
		}
		out = append(out, change{next, vus})
		at = next
	}
	return out
}

func TestNextChange(t *testing.T) {
	tests := []struct {
		name string
		p    Pattern
		want []change
	}{
		{
			name: "step jumps exactly at each boundary",
			p:    Step(10, 5, 2*time.Second, 3),
			want: []change{{2 * time.Second, 15}, {4 * time.Second, 20}, {6 * time.Second, 25}},
		},
		{
			// 3 VUs over 10 s: the value crosses k+0.5 at (2k+1)*10s/6.
			name: "fractional rate up",
			p:    Ramp(0, 3, 10*time.Second),
			want: []change{{1666666667, 1}, {5 * time.Second, 2}, {8333333334, 3}},
		},
		{
			// Down from 3: the value drops below 2.5, 1.5, 0.5 just after (2k+1)*10s/6.
			name: "fractional rate down",
			p:    Ramp(3, 0, 10*time.Second),
			want: []change{{1666666667, 2}, {5*time.Second + 1, 1}, {8333333334, 0}},
		},
		{
			name: "constant never changes",
			p:    Constant(5, time.Hour),
			want: nil,
		},
		{
			name: "jump at the end is not a change before the end",
			p:    Pattern{Stages: []Stage{{time.Second, 1}, {0, 7}}},
			want: []change{{500 * ms, 1}},
		},
		{
			name: "spike: up and back",
			p:    Spike(2, 8, time.Second, time.Second, 3*time.Second),
			want: []change{{time.Second, 8}, {2 * time.Second, 2}},
		},
		{
			name: "jumps that cancel out are no change",
			p:    Pattern{Stages: []Stage{{0, 4}, {time.Second, 4}, {0, 9}, {0, 4}, {time.Second, 4}}},
			want: nil,
		},
		{
			name: "ramp, hold, jump, ramp down",
			p: Pattern{Stages: []Stage{
				{2 * time.Second, 2}, {time.Second, 2}, {0, 6}, {4 * time.Second, 4},
			}},
			want: []change{
				{500 * ms, 1}, {1500 * ms, 2}, {3 * time.Second, 6},
				{4*time.Second + 1, 5}, {6*time.Second + 1, 4},
			},
		},
		{
			name: "rate above one VU per nanosecond skips integers",
			p:    Ramp(0, 10, 4),
			want: []change{{1, 3}, {2, 5}, {3, 8}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := changes(tt.p, 1000)
			if len(got) != len(tt.want) {
				t.Fatalf("changes = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("change %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestNextChangeFromInsideAStage(t *testing.T) {
	p := Step(10, 5, 2*time.Second, 3)
	for _, from := range []time.Duration{-time.Second, 0, time.Second, 2*time.Second - 1} {
		if at, vus, ok := p.NextChange(from); !ok || at != 2*time.Second || vus != 15 {
			t.Errorf("NextChange(%v) = %v, %d, %v; want 2s, 15, true", from, at, vus, ok)
		}
	}
	// At a boundary the new value already holds: the next change is the one after.
	if at, vus, ok := p.NextChange(2 * time.Second); !ok || at != 4*time.Second || vus != 20 {
		t.Errorf("NextChange(2s) = %v, %d, %v; want 4s, 20, true", at, vus, ok)
	}
	for _, from := range []time.Duration{6 * time.Second, 8 * time.Second, time.Hour} {
		if _, _, ok := p.NextChange(from); ok {
			t.Errorf("NextChange(%v) found a change after the last plateau began", from)
		}
	}
}

// TestNextChangeVisitsEveryInteger follows fast ramps both ways: each integer
// between the ends appears exactly once, in order, at the first nanosecond it holds.
func TestNextChangeVisitsEveryInteger(t *testing.T) {
	const n = 10000
	for _, tt := range []struct {
		name     string
		p        Pattern
		from, to int
	}{
		{"up", Ramp(0, n, 10*time.Second), 0, n},
		{"down", Ramp(n, 0, 10*time.Second), n, 0},
		{"up, uneven rate", Ramp(3, n+3, 7*time.Second+13), 3, n + 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := 1
			if tt.to < tt.from {
				dir = -1
			}
			got := changes(tt.p, 2*n)
			if len(got) != n {
				t.Fatalf("%d changes, want %d", len(got), n)
			}
			prev := change{0, tt.from}
			for i, c := range got {
				if c.vus != prev.vus+dir || c.at <= prev.at || c.at >= tt.p.Duration() {
					t.Fatalf("change %d = %v after %v", i, c, prev)
				}
				if before, _ := tt.p.Target(c.at - 1); before != prev.vus {
					t.Fatalf("Target(%v) = %d just before change %v, want %d", c.at-1, before, c, prev.vus)
				}
				prev = c
			}
		})
	}
}

// TestNextChangeMatchesScan compares NextChange with a scan of every
// nanosecond over short patterns.
func TestNextChangeMatchesScan(t *testing.T) {
	for _, p := range []Pattern{
		Ramp(0, 7, 1000),
		Ramp(7, 0, 1000),
		Ramp(0, 2000, 1000),
		{Stages: []Stage{{333, 5}, {0, 1}, {777, 9}, {100, 9}, {500, 0}, {0, 3}}},
		{Stages: []Stage{{0, 3}, {1, 4}, {1, 3}, {999, 1000}, {0, 0}, {1, 0}}},
		Step(0, 3, 17, 20),
	} {
		checkAgainstScan(t, p)
	}
}

func checkAgainstScan(t *testing.T, p Pattern) {
	t.Helper()
	var want []change
	prev, _ := p.Target(0)
	for at := time.Duration(1); at < p.Duration(); at++ {
		if vus, _ := p.Target(at); vus != prev {
			want = append(want, change{at, vus})
			prev = vus
		}
	}
	got := changes(p, len(want)+1)
	if len(got) != len(want) {
		t.Fatalf("%v: NextChange found %d changes, a scan %d", p.Stages, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%v: change %d = %v, a scan says %v", p.Stages, i, got[i], want[i])
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Pattern
		want string // "" means valid
	}{
		{"stages", Pattern{Stages: []Stage{{time.Second, 10}, {0, 0}}}, ""},
		{"jump then hold", Pattern{Stages: []Stage{{0, 10}, {time.Second, 10}}}, ""},
		{"all zero targets", Constant(0, time.Second), ""},
		{"no stages", Pattern{}, "pattern has no stages"},
		{"zero total", Pattern{Stages: []Stage{{0, 1}, {0, 2}}}, "pattern has zero total duration"},
		{"negative target", Pattern{Stages: []Stage{{time.Second, 1}, {time.Second, -5}}}, "stage 2: target -5 is negative"},
		{"negative duration", Pattern{Stages: []Stage{{-1500 * ms, 1}}}, "stage 1: duration -1.5s is negative"},
		{"first bad stage wins", Pattern{Stages: []Stage{{time.Second, 1}, {-1, 2}, {time.Second, -1}}}, "stage 2: duration -1ns is negative"},
		{
			"total overflows",
			Pattern{Stages: []Stage{{math.MaxInt64 - 1, 1}, {time.Second, 2}, {time.Second, 3}}},
			"stage 2: total duration exceeds 2562047h47m16.854775807s",
		},
		{"step down below zero", Step(2, -1, time.Second, 3), "stage 7: target -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestTimeline(t *testing.T) {
	tests := []struct {
		name string
		p    Pattern
		step time.Duration
		want []Point
	}{
		{
			name: "end on a step",
			p:    Ramp(0, 10, 4*time.Second),
			step: time.Second,
			want: []Point{{0, 0}, {time.Second, 3}, {2 * time.Second, 5}, {3 * time.Second, 8}, {4 * time.Second, 10}},
		},
		{
			name: "end between steps is added",
			p:    Constant(3, 2500*ms),
			step: time.Second,
			want: []Point{{0, 3}, {time.Second, 3}, {2 * time.Second, 3}, {2500 * ms, 3}},
		},
		{
			name: "final jump shows at the end",
			p:    Pattern{Stages: []Stage{{time.Second, 4}, {0, 0}}},
			step: 500 * ms,
			want: []Point{{0, 0}, {500 * ms, 2}, {time.Second, 0}},
		},
		{
			name: "step longer than the pattern",
			p:    Constant(1, time.Second),
			step: time.Minute,
			want: []Point{{0, 1}, {time.Second, 1}},
		},
		{name: "zero step", p: Constant(1, time.Second), step: 0, want: nil},
		{name: "negative step", p: Constant(1, time.Second), step: -time.Second, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.Timeline(tt.step)
			if len(got) != len(tt.want) {
				t.Fatalf("Timeline = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("point %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestTimelineNeverOverflows(t *testing.T) {
	p := Constant(1, time.Duration(math.MaxInt64))
	got := p.Timeline(time.Duration(math.MaxInt64 / 3))
	if last := got[len(got)-1]; last.At != p.Duration() {
		t.Fatalf("last point at %v, want the end %v", last.At, p.Duration())
	}
}

// fuzzStageBytes is how many bytes encode one fuzzed stage: a unit, a signed
// 16-bit amount of it and a signed 16-bit target.
const fuzzStageBytes = 5

var fuzzUnits = []time.Duration{1, time.Microsecond, time.Millisecond, time.Second, time.Hour, math.MaxInt64 / 4}

func stagesFromBytes(data []byte) []Stage {
	var stages []Stage
	for len(data) >= fuzzStageBytes {
		unit := fuzzUnits[int(data[0])%len(fuzzUnits)]
		amount := int64(int16(binary.BigEndian.Uint16(data[1:3])))
		target := int(int16(binary.BigEndian.Uint16(data[3:5])))
		d := time.Duration(amount) * unit
		if unit > time.Hour {
			d = time.Duration(amount % 4 * int64(unit))
		}
		if data[0]&0x80 != 0 {
			target <<= 30 // far beyond any real run, to exercise the wide arithmetic
		}
		stages = append(stages, Stage{Duration: d, Target: target})
		data = data[fuzzStageBytes:]
	}
	return stages
}

func stagesToBytes(stages ...[3]int) []byte {
	var data []byte
	for _, s := range stages {
		data = append(data, byte(s[0]), byte(uint16(s[1])>>8), byte(s[1]), byte(uint16(s[2])>>8), byte(s[2]))
	}
	return data
}

// FuzzPattern checks the invariants the scheduler relies on: a valid pattern
// never asks for negative VUs, and NextChange lists exactly the times Target
// moves, each later than the last.
func FuzzPattern(f *testing.F) {
	// Units: 0 ns, 1 µs, 2 ms, 3 s, 4 h, 5 a quarter of the longest duration.
	f.Add(stagesToBytes([3]int{3, 4, 20}, [3]int{3, 2, 20}))
	f.Add(stagesToBytes([3]int{3, 10, 3}))
	f.Add(stagesToBytes([3]int{3, 0, 10}, [3]int{2, 500, 10}, [3]int{3, 0, 0}))
	f.Add(stagesToBytes([3]int{1, 300, 7}, [3]int{0, 0, 2}, [3]int{0, 700, 30000}, [3]int{1, 1, 0}))
	f.Add(stagesToBytes([3]int{0, 3, 7}, [3]int{0, 40, 7}, [3]int{0, 0, 0}))
	f.Add(stagesToBytes([3]int{5, 3, 30000}, [3]int{0x83, 1, 30000}))
	f.Add(stagesToBytes([3]int{2, -5, 3}))
	f.Add(stagesToBytes([3]int{2, 5, -3}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Pattern{Stages: stagesFromBytes(data)}
		total := p.Duration()
		if err := p.Validate(); err != nil {
			// Invalid patterns are rejected, but reading them must not panic either.
			p.Target(total / 2)
			p.NextChange(total / 3)
			p.Timeline(total/3 + 1)
			return
		}
		lo, hi := 0, 0
		for _, s := range p.Stages {
			hi = max(hi, s.Target)
		}
		prevAt := time.Duration(0)
		prev, done := p.Target(0)
		if done {
			t.Fatalf("a valid pattern of %v has ended at 0", total)
		}
		const maxChanges = 5000
		n := 0
		for ; n < maxChanges; n++ {
			at, vus, ok := p.NextChange(prevAt)
			if !ok {
				break
			}
			if at <= prevAt || at >= total {
				t.Fatalf("NextChange(%v) = %v, outside (%v, %v)", prevAt, at, prevAt, total)
			}
			if vus == prev || vus < lo || vus > hi {
				t.Fatalf("NextChange(%v) = %v, %d after %d, targets in [%d, %d]", prevAt, at, vus, prev, lo, hi)
			}
			if got, _ := p.Target(at); got != vus {
				t.Fatalf("NextChange(%v) = %v, %d but Target(%v) = %d", prevAt, at, vus, at, got)
			}
			for _, between := range []time.Duration{prevAt + (at-prevAt)/2, at - 1} {
				if got, _ := p.Target(between); got != prev {
					t.Fatalf("Target(%v) = %d between changes at %v and %v, want %d", between, got, prevAt, at, prev)
				}
			}
			prevAt, prev = at, vus
		}
		if n < maxChanges {
			if got, _ := p.Target(prevAt + (total-prevAt)/2); got != prev {
				t.Fatalf("Target changes after the last change at %v", prevAt)
			}
			if total <= 20000 {
				checkAgainstScan(t, p)
			}
		}
		final, done := p.Target(total)
		if !done || final != p.Stages[len(p.Stages)-1].Target {
			t.Fatalf("Target(end) = %d, %v; want the last stage's target %d, true", final, done, p.Stages[len(p.Stages)-1].Target)
		}
	})
}

func BenchmarkNextChange(b *testing.B) {
	for _, bb := range []struct {
		name string
		p    Pattern
	}{
		{"ramp", Ramp(0, 10000, 10*time.Second)},
		{"step-20", Step(0, 10, time.Second, 19)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			at := time.Duration(0)
			for b.Loop() {
				next, _, ok := bb.p.NextChange(at)
				if !ok {
					next = 0
				}
				at = next
			}
		})
	}
}
