package plan

import (
	"strings"
	"testing"
	"time"
)

const durationScenario = "scenario:\n  tasks:\n    - requests: [{url: 'http://127.0.0.1:9/'}]\n"

// --duration alone keeps the plan's load form and sets its length; where the
// form's length cannot be set it is refused, naming the flag.
func TestDurationAloneSetsTheFormsLength(t *testing.T) {
	for _, c := range []struct {
		name, load string
		peak       int     // closed model: the pattern's target at its peak
		rate       float64 // open model: the rate at the end
	}{
		{"vus", "  vus: 3\n  duration: 1m\n", 3, 0},
		{"stages", "  stages: [{duration: 5s, target: 10}, {duration: 10s, target: 10}, {duration: 5s, target: 0}]\n", 10, 0},
		{"ramp", "  ramp: {to: 50, duration: 30s}\n", 50, 0},
		{"spike", "  spike: {base: 5, peak: 50, at: 10s, hold: 5s, duration: 30s}\n", 50, 0},
		{"step", "  step: {start: 5, step: 5, every: 5s, steps: 4}\n", 25, 0},
		{"rate", "  rate: 100\n  duration: 1m\n  max_vus: 10\n", 0, 100},
		{"rate stages", "  rate_stages: [{duration: 5s, target: 200}, {duration: 15s, target: 500}]\n  max_vus: 10\n", 0, 500},
	} {
		raw, err := Parse([]byte("load:\n"+c.load+durationScenario), "p.yaml")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := raw.Apply([]Override{{Key: KeyDuration, Values: []string{"10s"}, Origin: "--duration"}}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		p, err := raw.Build()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d := p.Pattern.Duration(); d != 10*time.Second {
			t.Errorf("%s: lasts %v, want 10s", c.name, d)
		}
		if c.rate > 0 {
			if p.Pattern.Rate == nil {
				t.Errorf("%s: the open model was dropped", c.name)
			} else if last := p.Pattern.Rate.Stages[len(p.Pattern.Rate.Stages)-1].Rate; last != c.rate {
				t.Errorf("%s: ends at %v/s, want %v/s", c.name, last, c.rate)
			}
			continue
		}
		peak := 0
		for _, pt := range p.Pattern.Timeline(100 * time.Millisecond) {
			peak = max(peak, pt.VUs)
		}
		if peak != c.peak {
			t.Errorf("%s: peaks at %d VUs, want %d (the form's shape kept)", c.name, peak, c.peak)
		}
	}

	raw, err := Parse([]byte("load:\n  stages: [{duration: 0s, target: 10}]\n"+durationScenario), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Apply([]Override{{Key: KeyDuration, Values: []string{"10s"}, Origin: "--duration"}})
	if err == nil || !strings.HasPrefix(err.Error(), "--duration: ") || strings.Contains(err.Error(), "\n") {
		t.Errorf("stages of no length: %v, want one line naming --duration", err)
	}
}
