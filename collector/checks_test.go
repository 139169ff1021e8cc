package collector

import (
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// Check counts from two workers add up per endpoint and name, in the result
// and in the snapshots; an endpoint entry that carries only checks adds no
// request.
func TestChecksAreSummedPerEndpointAndName(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour})
	w1, w2 := newFakeWorker("w1", 1), newFakeWorker("w2", 2)
	h.hello(w1.id)
	h.hello(w2.id)
	h.running()
	withChecks := func(w *fakeWorker, end time.Duration, checks ...schemas.CheckCount) *schemas.MetricEvent {
		ev := w.event(h.run, h.t0, end, 1, nil)
		ev.Endpoints = append(ev.Endpoints, schemas.EndpointMetrics{Name: "me", Method: "GET", URL: "http://127.0.0.1/me", Checks: checks})
		return ev
	}
	h.event(withChecks(w1, 250*time.Millisecond, schemas.CheckCount{Name: "status is 200", Passes: 7, Fails: 1}))
	h.event(withChecks(w2, 250*time.Millisecond, schemas.CheckCount{Name: "status is 200", Passes: 3}, schemas.CheckCount{Name: "extract token", Fails: 2}))
	h.event(withChecks(w1, 1250*time.Millisecond, schemas.CheckCount{Name: "extract token", Passes: 5}))
	h.stopping(0, "")
	h.bye(w1)
	h.bye(w2)
	res := h.result()
	snaps := h.snapshotsThroughFinal()
	if res.Checks == nil || res.Checks.Passes != 15 || res.Checks.Fails != 3 {
		t.Fatalf("checks totals %+v, want 15 passes and 3 fails", res.Checks)
	}
	var me *schemas.EndpointResult
	for i := range res.Endpoints {
		if res.Endpoints[i].Name == "me" {
			me = &res.Endpoints[i]
		}
	}
	if me == nil || me.Requests != 0 {
		t.Fatalf("endpoint me: %+v", me)
	}
	want := []schemas.CheckCount{{Name: "status is 200", Passes: 10, Fails: 1}, {Name: "extract token", Passes: 5, Fails: 2}}
	if len(me.Checks) != 2 || me.Checks[0] != want[0] || me.Checks[1] != want[1] {
		t.Errorf("me checks %+v, want %+v", me.Checks, want)
	}
	var passes, fails uint64
	for _, s := range snaps {
		passes += s.ChecksPasses
		fails += s.ChecksFails
	}
	if passes != 15 || fails != 3 || snaps[0].ChecksPasses != 10 || snaps[0].ChecksFails != 3 {
		t.Errorf("snapshots carry %d passes and %d fails (first second %d/%d)", passes, fails, snaps[0].ChecksPasses, snaps[0].ChecksFails)
	}
	checkSnapshots(t, snaps, res)
}

// A run without checks has no checks in its result.
func TestNoChecksNoChecksField(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour})
	w := newFakeWorker("w1", 3)
	h.hello(w.id)
	h.running()
	h.event(w.event(h.run, h.t0, 250*time.Millisecond, 1, nil))
	h.stopping(0, "")
	h.bye(w)
	if res := h.result(); res.Checks != nil {
		t.Errorf("checks %+v in a run without checks", res.Checks)
	}
}
