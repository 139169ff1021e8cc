package scheduler

import (
	"context"
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

// An open-model run publishes the whole pattern at t0, a command at each
// stage boundary and a done command at the end, every one with the pattern,
// its rate and the end.
func TestRunOpenPublishesThePattern(t *testing.T) {
	conn, got := openBus(t)
	r := RampingRate(RateStage{0, 50}, RateStage{150 * time.Millisecond, 50}, RateStage{150 * time.Millisecond, 200})
	r.MaxVUs, r.PreAllocatedVUs = 40, 4
	t0 := time.Now()
	s := New(Config{RunID: testRunID, Pattern: Pattern{Rate: &r}, Start: t0}, conn)
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !time.Now().After(t0.Add(300 * time.Millisecond)) {
		t.Error("Run returned before the pattern's end")
	}
	cmds := publishMarker(t, conn, got)
	wantElapsed := []time.Duration{0, 150 * time.Millisecond, 300 * time.Millisecond}
	wantRate := []float64{50, 50, 200}
	if len(cmds) != len(wantElapsed) {
		t.Fatalf("%d commands, want %d: %+v", len(cmds), len(wantElapsed), cmds)
	}
	for i, rc := range cmds {
		c := rc.cmd
		if c.Seq != uint64(i+1) || time.Duration(c.ElapsedNs) != wantElapsed[i] || c.AtNs != t0.Add(wantElapsed[i]).UnixNano() {
			t.Errorf("command %d: seq %d, elapsed %v, at %d", i, c.Seq, time.Duration(c.ElapsedNs), c.AtNs-t0.UnixNano())
		}
		if c.Rate != wantRate[i] || c.Done != (i == len(cmds)-1) || c.TargetVUs != 4 {
			t.Errorf("command %d: rate %v, done %v, target %d", i, c.Rate, c.Done, c.TargetVUs)
		}
		if c.EndNs != t0.Add(300*time.Millisecond).UnixNano() {
			t.Errorf("command %d: end %d", i, c.EndNs-t0.UnixNano())
		}
		a := c.Arrivals
		if a == nil || a.MaxVUs != 40 || a.PreAllocatedVUs != 4 || len(a.Stages) != 3 ||
			a.Stages[2].DurationNs != int64(150*time.Millisecond) || a.Stages[2].Rate != 200 {
			t.Errorf("command %d: arrivals %+v", i, a)
		}
	}
}

// A closed-model run stamps its end on every command, for the rate limiter.
func TestRunClosedStampsTheEnd(t *testing.T) {
	conn, got := openBus(t)
	t0 := time.Now()
	p := Ramp(0, 3, 60*time.Millisecond)
	if err := New(Config{RunID: testRunID, Pattern: p, Start: t0}, conn).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	cmds := publishMarker(t, conn, got)
	if len(cmds) == 0 {
		t.Fatal("no commands")
	}
	for _, rc := range cmds {
		if rc.cmd.EndNs != t0.Add(60*time.Millisecond).UnixNano() || rc.cmd.Arrivals != nil {
			t.Errorf("command %d: end %d, arrivals %v", rc.cmd.Seq, rc.cmd.EndNs-t0.UnixNano(), rc.cmd.Arrivals)
		}
	}
}
