package session

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// A join that refuses the run is not admitted: while the roster recruits it
// ends the recruiting with the worker's reason; the spec tells the workers
// how many of them share the peak.
func TestRosterTakesARefusalWhileRecruiting(t *testing.T) {
	sess, peer, specs, assigns := rosterPeers(t)
	r := newRoster(rosterConfig{RunID: "r", Spec: schemas.RunSpec{SchemaVersion: 1, RunID: "r", PeakVUs: 600}, Wanted: 2,
		AnnounceEvery: time.Hour, Logger: quiet}, sess)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = r.Run(ctx)
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()
	select {
	case s := <-specs:
		if s.PeakVUs != 600 || s.Workers != 2 {
			t.Errorf("spec: peak_vus %d over %d workers, want 600 over 2", s.PeakVUs, s.Workers)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no spec")
	}
	join := func(id, refused string) {
		h := &schemas.WorkerHello{SchemaVersion: 1, RunID: "r", WorkerID: id, Name: id, Host: "h", Refused: refused}
		if err := peer.Publish(schemas.Subject("r", schemas.KindJoin), h); err != nil {
			t.Fatal(err)
		}
	}
	join("ok", "")
	join("short", "the open-file limit is 256")
	select {
	case err := <-r.refused:
		if !errors.Is(err, ErrWorkerRefused) || !strings.Contains(err.Error(), "worker short (short on h) refused the run: the open-file limit is 256") {
			t.Errorf("refusal %q", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the refusal did not end the recruiting")
	}
	// The refusing worker was never admitted: the assignment names the other alone.
	select {
	case a := <-assigns:
		if len(a.Workers) != 1 || a.Workers[0] != "ok" {
			t.Errorf("assignment %v, want only the worker that did not refuse", a.Workers)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no assignment")
	}
	if got := r.cameSoFar(); len(got) != 1 || !strings.HasPrefix(got[0], "ok ") {
		t.Errorf("admitted %v, want only ok", got)
	}
}
