package worker

import (
	"errors"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// A remote worker that asks to join a run that is already full hears the
// run's state and scale commands before the assignment that leaves it out:
// it must act on none of them. It sends no request, publishes no metric
// event, heartbeat or bye, and its Run returns with every VU and the open
// model's dispatcher stopped.
func TestSurplusRemoteWorkerSendsNothing(t *testing.T) {
	for _, open := range []bool{false, true} {
		name := "closed"
		if open {
			name = "open"
		}
		t.Run(name, func(t *testing.T) {
			tg := newTarget(t)
			c := newCoordinator(t, "r-full-"+name)
			w, done := c.remoteWorker("late", baseConfig(task("t", 1, tg.URL+"/ok")))
			if id := c.join(); id != "late" {
				t.Fatalf("join from %q", id)
			}
			c.running()
			if open {
				a := schemas.ArrivalRate{Stages: []schemas.RateStage{{DurationNs: 0, Rate: 200}, {DurationNs: int64(time.Minute), Rate: 200}},
					MaxVUs: 20, PreAllocatedVUs: 5}
				t0 := time.Now()
				c.scales++
				c.publish(schemas.KindScale, &schemas.ScaleCommand{SchemaVersion: schemas.Version, RunID: c.run, Seq: c.scales,
					AtNs: t0.UnixNano(), TargetVUs: a.PreAllocatedVUs, Arrivals: &a, EndNs: t0.Add(time.Minute).UnixNano()})
			} else {
				c.scale(5)
			}
			// Nothing marks a command ignored: give the worker time to act
			// on it wrongly (it would start VUs within a millisecond).
			time.Sleep(300 * time.Millisecond)
			c.assign(1, []string{"first"}) // the run is full without it
			if err := runErr(t, done); !errors.Is(err, ErrNotAdmitted) {
				t.Fatalf("Run = %v, want ErrNotAdmitted", err)
			}
			if n := w.VUs(); n != 0 {
				t.Errorf("%d VUs still running after Run returned", n)
			}
			if om := w.open.Load(); om != nil {
				t.Errorf("the open model was started for a run the worker was not admitted to")
			}
			if n := tg.total(); n != 0 {
				t.Errorf("the surplus worker sent %d requests", n)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if _, ok := c.vus["late"]; ok || c.byes["late"] != nil || c.hellos["late"] {
				t.Errorf("the surplus worker published: metrics %v, bye %v, hello %v", ok, c.byes["late"], c.hellos["late"])
			}
		})
	}
}
