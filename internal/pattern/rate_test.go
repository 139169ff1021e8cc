package pattern

import (
	"strings"
	"testing"
	"time"
)

func TestRatePatternValidate(t *testing.T) {
	ok := func(r RatePattern) RatePattern { r.MaxVUs = 10; r.PreAllocatedVUs = 1; return r }
	if err := ok(ConstantRate(100, time.Second)).Validate(); err != nil {
		t.Errorf("constant: %v", err)
	}
	for name, c := range map[string]struct {
		r   RatePattern
		msg string
	}{
		"no stages":     {ok(RatePattern{}), "no rate stages"},
		"negative rate": {ok(RampingRate(RateStage{time.Second, -3})), "rate -3"},
		"no arrivals":   {ok(RampingRate(RateStage{time.Second, 0})), "start no iteration"},
		"no max":        {RatePattern{Stages: ConstantRate(1, time.Second).Stages}, "max VUs 0"},
		"pre over max":  {RatePattern{Stages: ConstantRate(1, time.Second).Stages, MaxVUs: 2, PreAllocatedVUs: 3}, "pre-allocated VUs 3"},
	} {
		if err := c.r.Validate(); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %q", name, err, c.msg)
		}
	}
	// As a Pattern, a rate excludes VU stages.
	r := ok(ConstantRate(5, time.Second))
	if err := (Pattern{Stages: []Stage{{time.Second, 1}}, Rate: &r}).Validate(); err == nil {
		t.Error("a pattern with both VU stages and a rate passed")
	}
	if p := (Pattern{Rate: &r}); !p.Open() || p.Duration() != time.Second || p.Validate() != nil {
		t.Errorf("open pattern: open %v, duration %v, %v", p.Open(), p.Duration(), p.Validate())
	}
}

func TestRateTimeline(t *testing.T) {
	r := RampingRate(RateStage{2 * time.Second, 100}, RateStage{500 * time.Millisecond, 100})
	got := r.Timeline(time.Second)
	want := []RatePoint{{0, 0, 0}, {time.Second, 50, 25}, {2 * time.Second, 100, 100}, {2500 * time.Millisecond, 100, 150}}
	if len(got) != len(want) {
		t.Fatalf("timeline %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("point %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if r.Arrivals(time.Hour) != 150 {
		t.Errorf("arrivals %d", r.Arrivals(time.Hour))
	}
}
