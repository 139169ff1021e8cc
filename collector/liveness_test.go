package collector

import (
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// A worker the session declares lost keeps what it reported, is flagged lost,
// and neither holds back a second nor the end of the run.
func TestLostWorkerKeepsItsCountsAndHoldsNothingBack(t *testing.T) {
	// A long snapshot grace and a long graceful stop: only the assignment can
	// let the run end soon.
	h := newHarness(t, Config{SnapshotGrace: time.Minute, FinalizeGrace: time.Minute})
	ref := newReference()
	survivor, dead := newFakeWorker("survivor", 1), newFakeWorker("dead", 2)
	h.hello(survivor.id)
	h.hello(dead.id)
	h.running()
	h.event(dead.event(h.run, h.t0, 250*time.Millisecond, 1, ref))
	h.event(dead.event(h.run, h.t0, 500*time.Millisecond, 1, ref))
	for q := 1; q <= 4; q++ {
		h.event(survivor.event(h.run, h.t0, time.Duration(q)*250*time.Millisecond, 1, ref))
	}
	h.publish(schemas.Subject(h.run, schemas.KindAssign), &schemas.WorkerAssignment{
		SchemaVersion: schemas.Version, RunID: h.run, Seq: 2, Wanted: 2,
		Workers: []string{survivor.id}, Lost: []string{dead.id},
	})
	// Second 1 goes out without waiting for the dead worker.
	first := h.waitSnapshot(1)
	for q := 5; q <= 6; q++ {
		h.event(survivor.event(h.run, h.t0, time.Duration(q)*250*time.Millisecond, 2, ref))
	}
	began := time.Now()
	h.stopping(time.Minute, schemas.StateCompleted)
	h.bye(survivor)
	res := h.result()
	if waited := time.Since(began); waited > 20*time.Second {
		t.Errorf("the result took %s: the lost worker held the end back", waited)
	}
	checkSnapshots(t, append([]*schemas.Snapshot{first}, h.snapshotsThroughFinal()...), res)
	if res.Totals.Requests != ref.requests {
		t.Errorf("totals %d, want %d (the lost worker's reports kept)", res.Totals.Requests, ref.requests)
	}
	want := map[string]bool{survivor.id: false, dead.id: true}
	if len(res.Workers) != 2 {
		t.Fatalf("workers %+v", res.Workers)
	}
	for _, w := range res.Workers {
		if lost, ok := want[w.ID]; !ok || w.Lost != lost || w.Requests != ref.perWorker[w.ID] {
			t.Errorf("worker %+v: want lost %v with %d requests", w, lost, ref.perWorker[w.ID])
		}
	}
	// A foreign assignment is counted and dropped.
	if res.MalformedMessages != 0 {
		t.Errorf("%d malformed messages", res.MalformedMessages)
	}
}

func TestForeignAssignmentIsDropped(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: 50 * time.Millisecond, FinalizeGrace: 200 * time.Millisecond})
	w := newFakeWorker("w", 3)
	h.hello(w.id)
	h.running()
	h.publish(schemas.Subject(h.run, schemas.KindAssign), &schemas.WorkerAssignment{
		SchemaVersion: schemas.Version, RunID: "another-run", Seq: 1, Lost: []string{w.id},
	})
	h.event(w.event(h.run, h.t0, 250*time.Millisecond, 1, nil))
	h.stopping(0, schemas.StateCompleted)
	h.bye(w)
	res := h.result()
	if len(res.Workers) != 1 || res.Workers[0].Lost {
		t.Errorf("workers %+v: another run's assignment marked ours lost", res.Workers)
	}
	if res.MalformedMessages != 1 {
		t.Errorf("%d malformed messages, want 1", res.MalformedMessages)
	}
}
