package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/pattern"
)

// An open-model run publishes the whole pattern at t0, a command at each
// stage boundary and a done command at the end, every one with the pattern,
// its rate and the end.
func TestRunOpenPublishesThePattern(t *testing.T) {
	conn, got := openBus(t)
	r := pattern.RampingRate(pattern.RateStage{Duration: 0, Rate: 50}, pattern.RateStage{Duration: 150 * time.Millisecond, Rate: 50}, pattern.RateStage{Duration: 150 * time.Millisecond, Rate: 200})
	r.MaxVUs, r.PreAllocatedVUs = 40, 4
	t0 := time.Now()
	s := mustNew(t, Config{RunID: testRunID, Pattern: pattern.Pattern{Rate: &r}, Start: t0}, conn)
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
	p := pattern.Ramp(0, 3, 60*time.Millisecond)
	if err := mustNew(t, Config{RunID: testRunID, Pattern: p, Start: t0}, conn).Run(context.Background()); err != nil {
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
