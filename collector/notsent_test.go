package collector

import (
	"testing"
	"time"
)

// Requests the generator could not attempt reach the result apart from the
// requests, with a warning that gives the count.
func TestNotSentReachesTheResult(t *testing.T) {
	h := newHarness(t, Config{Workers: []string{"w1"}, SnapshotGrace: time.Hour})
	ref := newReference()
	w := newFakeWorker("w1", 3)
	h.hello(w.id)
	h.running()
	e1 := w.event(h.run, h.t0, 250*time.Millisecond, 1, ref)
	e1.NotSent = map[string]uint64{"fds": 40}
	e2 := w.event(h.run, h.t0, 500*time.Millisecond, 1, ref)
	e2.NotSent = map[string]uint64{"fds": 2, "ports": 5}
	h.event(e1)
	h.event(e2)
	h.stopping(0, "")
	h.bye(w)
	res := h.result()
	if res.Totals.Requests != ref.requests {
		t.Errorf("requests %d, want %d: not-sent ones must not count", res.Totals.Requests, ref.requests)
	}
	if got := res.Totals.NotSent; got["fds"] != 42 || got["ports"] != 5 || len(got) != 2 {
		t.Errorf("not_sent %v, want fds 42, ports 5", got)
	}
	warningWith(t, res, "47 requests were not sent", "fds: 42", "ports: 5")
}
