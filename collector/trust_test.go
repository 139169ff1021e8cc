package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// warningWith fails unless one of res's warnings contains every part.
func warningWith(t *testing.T, res *schemas.Result, parts ...string) {
	t.Helper()
	for _, w := range res.Warnings {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(w, p)
		}
		if all {
			return
		}
	}
	t.Errorf("no warning with %q among %q", parts, res.Warnings)
}

func (h *harness) assign(workers ...string) {
	h.publish(schemas.Subject(h.run, schemas.KindAssign), &schemas.WorkerAssignment{
		SchemaVersion: schemas.Version, RunID: h.run, Seq: 1, AtNs: time.Now().UnixNano(),
		Wanted: len(workers), Workers: workers,
	})
}

// forged is an event under worker id that claims requests.
func forged(run, id string, seq uint64, t0 int64, requests uint64) *schemas.MetricEvent {
	return &schemas.MetricEvent{
		SchemaVersion: schemas.Version, RunID: run, WorkerID: id, Seq: seq,
		StartNs: t0, EndNs: t0 + int64(300*time.Millisecond),
		Endpoints: []schemas.EndpointMetrics{{Name: "home", Method: "GET", URL: "http://127.0.0.1/home",
			Requests: requests, StatusCodes: map[string]uint64{"200": requests}}},
	}
}

// Under a run without remote workers only the local worker counts: a worker
// id nobody admitted neither adds to the totals nor holds back the end.
func TestUnknownWorkerIsNotCounted(t *testing.T) {
	// A long finalise grace: were the intruder waited for, no result would come in time.
	h := newHarness(t, Config{Workers: []string{"local"}, SnapshotGrace: time.Hour, FinalizeGrace: time.Hour})
	ref := newReference()
	w := newFakeWorker("local", 11)
	h.hello(w.id)
	h.hello("intruder")
	h.running()
	h.event(w.event(h.run, h.t0, 250*time.Millisecond, 2, ref))
	h.event(forged(h.run, "intruder", 1, h.t0, 1_000_000))
	h.event(w.event(h.run, h.t0, 500*time.Millisecond, 2, ref))
	h.stopping(0, "")
	h.bye(w)
	res := h.result()
	if res.Totals.Requests != ref.requests || res.Totals.Errors != ref.errors {
		t.Fatalf("totals %d/%d, want the local worker's %d/%d", res.Totals.Requests, res.Totals.Errors, ref.requests, ref.errors)
	}
	if len(res.Workers) != 1 || res.Workers[0].ID != "local" || res.Workers[0].Lost {
		t.Errorf("workers %+v, want only the local one, not lost", res.Workers)
	}
	warningWith(t, res, "ignored 1 metric events", "1000000 requests", "never admitted", "intruder")
}

// With remote workers, a worker counts once the session's assignment names
// it; what it sent before is held and then counted.
func TestRosterAdmitsWorkers(t *testing.T) {
	h := newHarness(t, Config{Roster: true, SnapshotGrace: time.Hour, FinalizeGrace: time.Hour})
	ref := newReference()
	a, b := newFakeWorker("a", 1), newFakeWorker("b", 2)
	h.running()
	h.event(a.event(h.run, h.t0, 250*time.Millisecond, 1, ref)) // before its admission
	h.assign("a", "b")
	h.event(a.event(h.run, h.t0, 500*time.Millisecond, 1, ref))
	h.event(b.event(h.run, h.t0, 500*time.Millisecond, 1, ref))
	h.event(forged(h.run, "stranger", 1, h.t0, 777))
	h.stopping(0, "")
	h.bye(a)
	h.bye(b)
	res := h.result()
	if res.Totals.Requests != ref.requests {
		t.Fatalf("totals %d, want %d", res.Totals.Requests, ref.requests)
	}
	if len(res.Workers) != 2 {
		t.Errorf("workers %+v, want a and b", res.Workers)
	}
	for _, wr := range res.Workers {
		if wr.Lost || wr.Requests != ref.perWorker[wr.ID] {
			t.Errorf("worker %+v, want %d requests, not lost", wr, ref.perWorker[wr.ID])
		}
	}
	warningWith(t, res, "ignored 1 metric events", "777 requests", "stranger")
}

// Forged events under a real worker's id with the seqs it will send next
// (the hostile case): the real events still count, the forged ones are
// reported as conflicts.
func TestForgedSeqsAheadDoNotReplaceRealEvents(t *testing.T) {
	h := newHarness(t, Config{Workers: []string{"w1"}, SnapshotGrace: time.Hour})
	ref := newReference()
	w := newFakeWorker("w1", 7)
	h.hello(w.id)
	h.running()
	h.event(w.event(h.run, h.t0, 250*time.Millisecond, 1, ref))
	for seq := w.seq + 2; seq <= w.seq+5; seq++ {
		h.event(forged(h.run, w.id, seq, h.t0, 0))
	}
	for i := range 6 {
		h.event(w.event(h.run, h.t0, time.Duration(500+250*i)*time.Millisecond, 1, ref))
	}
	h.stopping(0, "")
	h.bye(w)
	res := h.result()
	snaps := h.snapshotsThroughFinal()
	if res.Totals.Requests != ref.requests || res.Totals.Errors != ref.errors {
		t.Fatalf("totals %d/%d, want %d/%d", res.Totals.Requests, res.Totals.Errors, ref.requests, ref.errors)
	}
	warningWith(t, res, "worker w1: 4 metric events conflicted")
	for _, wn := range res.Warnings {
		if strings.Contains(wn, "counted") && strings.Contains(wn, "itself") {
			t.Errorf("bye reconciliation complains though the totals match: %q", wn)
		}
	}
	checkSnapshots(t, snaps, res)
}

// A forged event that wins the race for the worker's next seq displaces the
// real one; the worker's bye shows the difference, and a forged event past
// the seq the bye announced is not counted.
func TestByeReconciliationReportsDifference(t *testing.T) {
	h := newHarness(t, Config{Workers: []string{"w1"}, SnapshotGrace: time.Hour})
	ref := newReference()
	w := newFakeWorker("w1", 9)
	h.hello(w.id)
	h.running()
	h.event(w.event(h.run, h.t0, 250*time.Millisecond, 1, ref))
	fake := forged(h.run, w.id, w.seq+1, h.t0, 5)
	h.event(fake)
	real2 := w.event(h.run, h.t0, 500*time.Millisecond, 1, ref)
	h.event(real2)
	h.event(forged(h.run, w.id, w.seq+3, h.t0, 40)) // past the bye's last seq, with a gap
	h.stopping(0, "")
	h.bye(w)
	res := h.result()
	want := ref.requests - eventRequests(real2) + 5
	if res.Totals.Requests != want {
		t.Fatalf("totals %d, want %d (the forged event in the real one's place)", res.Totals.Requests, want)
	}
	warningWith(t, res, "worker w1: 1 metric events conflicted")
	warningWith(t, res, "worker w1 counted", "itself", "off by")
	warningWith(t, res, "worker w1: 1 metric events (claiming 40 requests) came with seqs past")
}

// An event's print follows its content alone: a copy decoded from the same
// bytes (its maps filled in another order) prints the same, and each figure
// changed, a latency count, a status count, a check, changes the print.
func TestEventPrintFollowsContent(t *testing.T) {
	a := newAggregator(aggregatorConfig{runID: "r"})
	ev := &schemas.MetricEvent{
		SchemaVersion: schemas.Version, RunID: "r", WorkerID: "w", Seq: 3, StartNs: 1, EndNs: 2, VUs: 4,
		Endpoints: []schemas.EndpointMetrics{{
			Name: "GET /", Method: "GET", URL: "http://x/", Requests: 10,
			StatusCodes: map[string]uint64{"200": 9, "500": 1, "404": 0},
			LatencyUs:   [][2]int64{{100, 4}, {200, 6}},
			Checks:      []schemas.CheckCount{{Name: "ok", Passes: 9, Fails: 1}},
		}},
	}
	body, err := schemas.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	decode := func() *schemas.MetricEvent {
		var c schemas.MetricEvent
		if err := schemas.Decode(body, &c); err != nil {
			t.Fatal(err)
		}
		return &c
	}
	want := a.fingerprint(ev)
	if got := a.fingerprint(decode()); got != want {
		t.Fatalf("a decoded copy prints %#x, the event %#x", got, want)
	}
	for name, change := range map[string]func(*schemas.MetricEvent){
		"latency count": func(e *schemas.MetricEvent) { e.Endpoints[0].LatencyUs[1][1]++ },
		"status count":  func(e *schemas.MetricEvent) { e.Endpoints[0].StatusCodes["500"]++ },
		"check":         func(e *schemas.MetricEvent) { e.Endpoints[0].Checks[0].Fails++ },
		"worker":        func(e *schemas.MetricEvent) { e.WorkerID = "v" },
	} {
		c := decode()
		change(c)
		if a.fingerprint(c) == want {
			t.Errorf("a changed %s leaves the print as it was", name)
		}
	}
}
