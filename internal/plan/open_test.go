package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/pattern"
)

func rs(d time.Duration, rate float64) pattern.RateStage {
	return pattern.RateStage{Duration: d, Rate: rate}
}

func openPlan(load string) string {
	return strings.Replace(valid, "  vus: 2\n  duration: 5s\n", load, 1)
}

func TestOpenModelPlans(t *testing.T) {
	cases := []struct {
		name, src string
		want      pattern.RatePattern
		desc      string
	}{
		{"constant rate, defaults", openPlan("  rate: 200\n  duration: 5s\n"),
			pattern.RatePattern{Stages: []pattern.RateStage{rs(0, 200), rs(5*time.Second, 200)}, MaxVUs: DefaultMaxVUs, PreAllocatedVUs: 1},
			"rate 200/s for 5s, up to 1000 VUs (1 pre-allocated)"},
		{"rate stages, pool", openPlan("  rate_stages: [10s:100, {duration: 5s, target: 0.5}]\n  max_vus: 50\n  pre_allocated_vus: 10\n"),
			pattern.RatePattern{Stages: []pattern.RateStage{rs(10*time.Second, 100), rs(5*time.Second, 0.5)}, MaxVUs: 50, PreAllocatedVUs: 10},
			"rate stages 10s→100/s, 5s→0.5/s"},
		{"pre-allocated over the default cap", openPlan("  rate: 1\n  duration: 1s\n  pre_allocated_vus: 1500\n"),
			pattern.RatePattern{Stages: []pattern.RateStage{rs(0, 1), rs(time.Second, 1)}, MaxVUs: 1500, PreAllocatedVUs: 1500},
			"up to 1500 VUs"},
		{"small cap", openPlan("  rate: 10\n  duration: 1s\n  max_vus: 1\n  pre_allocated_vus: 0\n"),
			pattern.RatePattern{Stages: []pattern.RateStage{rs(0, 10), rs(time.Second, 10)}, MaxVUs: 1, PreAllocatedVUs: 0},
			"up to 1 VUs (0 pre-allocated)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := build(t, c.src)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Pattern.Open() || len(p.Pattern.Stages) != 0 {
				t.Fatalf("pattern %+v is not an open model", p.Pattern)
			}
			got := *p.Pattern.Rate
			if got.MaxVUs != c.want.MaxVUs || got.PreAllocatedVUs != c.want.PreAllocatedVUs || len(got.Stages) != len(c.want.Stages) {
				t.Fatalf("rate pattern %+v, want %+v", got, c.want)
			}
			for i := range got.Stages {
				if got.Stages[i] != c.want.Stages[i] {
					t.Errorf("stage %d: %+v, want %+v", i, got.Stages[i], c.want.Stages[i])
				}
			}
			if !strings.Contains(p.Load, c.desc) {
				t.Errorf("load %q lacks %q", p.Load, c.desc)
			}
		})
	}
}

func TestOpenModelPlanErrors(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"rate without duration", openPlan("  rate: 10\n"), "load.duration: required"},
		{"zero rate", openPlan("  rate: 0\n  duration: 1s\n"), "p.yaml:9: load.rate: must be > 0"},
		{"negative rate", openPlan("  rate: -1\n  duration: 1s\n"), "p.yaml:9: load.rate: must be 0 to"},
		{"rate not a number", openPlan("  rate: fast\n  duration: 1s\n"), `p.yaml:9: load.rate: want a number, got "fast"`},
		{"rate and vus", openPlan("  rate: 10\n  vus: 2\n  duration: 1s\n"), "give one load form, but vus is given too"},
		{"rate and rate stages", openPlan("  rate: 10\n  duration: 1s\n  rate_stages: [1s:5]\n"), "load.rate_stages: give one load form, but rate is given too"},
		{"malformed rate stage", openPlan("  rate_stages: [10s]\n"), "p.yaml:9: load.rate_stages[0]: want DURATION:RATE"},
		{"rate stage target", openPlan("  rate_stages: [{duration: 1s}]\n"), "load.rate_stages[0].target: required"},
		{"no arrivals", openPlan("  rate_stages: [5s:0]\n"), "load.rate_stages: the rate stages start no iteration"},
		{"pre over max", openPlan("  rate: 5\n  duration: 1s\n  max_vus: 2\n  pre_allocated_vus: 3\n"), "load.pre_allocated_vus: 3 is more than max_vus (2)"},
		{"zero max", openPlan("  rate: 5\n  duration: 1s\n  max_vus: 0\n"), "load.max_vus: must be ≥ 1"},
		{"max vus on a closed model", valid + "  max_vus: 4\n", "p.yaml:11: load.max_vus: applies to an open model"},
	}
	for _, c := range cases {
		_, err := build(t, c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestOpenModelOverrides(t *testing.T) {
	ratePlan := openPlan("  rate: 100\n  duration: 3s\n  max_vus: 7\n")
	cases := []struct {
		name string
		src  string
		ovs  []Override
		open bool
		dur  time.Duration
		max  int
	}{
		{"--rate replaces vus, keeps the duration", valid, []Override{ov(KeyRate, "--rate", "50")}, true, 5 * time.Second, DefaultMaxVUs},
		{"--rate and --duration", valid, []Override{ov(KeyRate, "--rate", "50"), ov(KeyDuration, "--duration", "2s"), ov(KeyMaxVUs, "--max-vus", "9")}, true, 2 * time.Second, 9},
		{"--duration alone keeps a plan's rate", ratePlan, []Override{ov(KeyDuration, "--duration", "9s")}, true, 9 * time.Second, 7},
		{"--vus makes a rate plan closed", ratePlan, []Override{ov(KeyVUs, "--vus", "3")}, false, 3 * time.Second, 0},
		{"--stage makes a rate plan closed", ratePlan, []Override{ov(KeyStages, "--stage", "1s:2")}, false, time.Second, 0},
		{"--rate-stage replaces all", valid, []Override{ov(KeyRateStages, "LOADFORGE_RATE_STAGE", "1s:10", "1s:20"), ov(KeyPreAllocatedVUs, "--pre-vus", "4")}, true, 2 * time.Second, DefaultMaxVUs},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse([]byte(c.src), "p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Apply(c.ovs); err != nil {
				t.Fatal(err)
			}
			p, err := r.Build()
			if err != nil {
				t.Fatal(err)
			}
			if p.Pattern.Open() != c.open || p.Pattern.Duration() != c.dur {
				t.Fatalf("open %v, duration %v; want %v, %v", p.Pattern.Open(), p.Pattern.Duration(), c.open, c.dur)
			}
			if c.open && p.Pattern.Rate.MaxVUs != c.max {
				t.Errorf("max VUs %d, want %d", p.Pattern.Rate.MaxVUs, c.max)
			}
		})
	}
	errs := []struct {
		name string
		ovs  []Override
		want string
	}{
		{"rate and vus", []Override{ov(KeyRate, "--rate", "5"), ov(KeyVUs, "--vus", "1")}, "--vus and --rate: give one load form"},
		{"rate stages and duration", []Override{ov(KeyRateStages, "--rate-stage", "1s:5"), ov(KeyDuration, "--duration", "1s")}, "give one load form"},
		{"bad rate", []Override{ov(KeyRate, "LOADFORGE_RATE", "x")}, `LOADFORGE_RATE: want a number, got "x"`},
		{"bad rate stage", []Override{ov(KeyRateStages, "--rate-stage", "1s")}, `--rate-stage "1s": want DURATION:RATE`},
		{"max vus on a closed run", []Override{ov(KeyMaxVUs, "--max-vus", "3")}, "--max-vus: applies to an open model"},
		{"bad max vus", []Override{ov(KeyRate, "--rate", "5"), ov(KeyMaxVUs, "--max-vus", "-3")}, "--max-vus: must be ≥ 0, got -3"},
	}
	for _, c := range errs {
		r, err := Parse([]byte(valid), "p.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err = r.Apply(c.ovs); err == nil {
			_, err = r.Build()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
