package session

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

// The roster admits the first joiners up to the number wanted, in order, and
// drops what is foreign or malformed.
func TestRosterAdmitsInOrderAndDropsForeignMessages(t *testing.T) {
	sess, peer, specs, assigns := rosterPeers(t)
	r := newRoster(rosterConfig{RunID: "r", Spec: schemas.RunSpec{SchemaVersion: 1, RunID: "r"}, Wanted: 2,
		AnnounceEvery: time.Hour, Logger: quiet}, sess)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = r.Run(ctx)
	}()
	select {
	case s := <-specs: // announced at once
		if s.RunID != "r" {
			t.Errorf("spec for %q", s.RunID)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no spec")
	}
	join := func(run, id string) {
		if err := peer.Publish(schemas.Subject("r", schemas.KindJoin), &schemas.WorkerHello{SchemaVersion: 1, RunID: run, WorkerID: id}); err != nil {
			t.Fatal(err)
		}
	}
	join("other-run", "x") // foreign
	join("r", "bad.id")    // not a token
	if err := peer.NATS().Publish(schemas.Subject("r", schemas.KindJoin), []byte{0xc1}); err != nil {
		t.Fatal(err)
	}
	if err := peer.NATS().Publish(schemas.Subject("r", "worker.unknown"), []byte{0x80}); err != nil {
		t.Fatal(err)
	}
	join("r", "first")
	join("r", "first") // a repeat
	join("r", "second")
	join("r", "third") // too many
	var last *schemas.WorkerAssignment
	for last == nil || len(last.Workers) < 2 {
		select {
		case last = <-assigns:
		case <-time.After(20 * time.Second):
			t.Fatal("no assignment for two workers")
		}
	}
	if last.Seq != 2 || last.Wanted != 2 || len(last.Workers) != 2 || last.Workers[0] != "first" || last.Workers[1] != "second" {
		t.Errorf("assignment %+v, want first and second, in order, at seq 2", last)
	}
	// The change applies to an open model's arrivals a lead after it is made,
	// so that every worker hears of it first.
	if e := last.EffectiveNs - last.AtNs; e <= 0 || e > schemas.AssignmentLeadNs {
		t.Errorf("effective %d ns after the assignment, want within (0, %d]", e, schemas.AssignmentLeadNs)
	}
	// The join that does not decode is counted by the connection; the roster
	// counts the foreign, the bad id and the unknown subject. The unknown
	// subject comes on another subscription, unordered with the joins, and
	// nothing signals that it was handled: wait for the count, bounded.
	for deadline := time.Now().Add(10 * time.Second); r.malformed.Load() < 3 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if r.malformed.Load() != 3 || sess.Malformed() != 1 {
		t.Errorf("roster dropped %d, connection %d; want 3 and 1", r.malformed.Load(), sess.Malformed())
	}
	select {
	case a := <-assigns:
		t.Errorf("an assignment after the roster was full: %+v", a)
	default:
	}
}

// rosterPeers opens a bus with the session's connection and a peer that
// stands for the workers, subscribed to the run's specs and assignments.
func rosterPeers(t *testing.T) (sess, peer *bus.Conn, specs chan *schemas.RunSpec, assigns chan *schemas.WorkerAssignment) {
	t.Helper()
	b, err := bus.Open(bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	if sess, err = b.Connect("session"); err != nil {
		t.Fatal(err)
	}
	if peer, err = b.Connect("workers"); err != nil {
		t.Fatal(err)
	}
	specs = make(chan *schemas.RunSpec, 64)
	assigns = make(chan *schemas.WorkerAssignment, 64)
	if _, err := bus.Subscribe(peer, schemas.Subject("r", schemas.KindSpec), func(_ string, s *schemas.RunSpec) { specs <- s }); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Subscribe(peer, schemas.Subject("r", schemas.KindAssign), func(_ string, a *schemas.WorkerAssignment) { assigns <- a }); err != nil {
		t.Fatal(err)
	}
	if err := peer.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sess, peer, specs, assigns
}
