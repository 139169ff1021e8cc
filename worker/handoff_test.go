package worker

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/loadforge/loadforge/internal/arrival"
)

// handOffModel is an open model at 100 arrivals/s whose t0 lay `late` in the
// past, with the given free VUs and cap, and no goroutine of its own: what
// the dispatcher and the VUs decide can be read off its state.
func handOffModel(t *testing.T, late time.Duration, free, maxVUs int) *openModel {
	t.Helper()
	sched, err := arrival.New([]arrival.Stage{{Rate: 100}, {Duration: time.Second, Rate: 100}})
	if err != nil {
		t.Fatal(err)
	}
	share := arrivalShare{index: 0, of: 1}
	om := &openModel{sched: sched, origin: time.Now().Add(-late), share: share, cur: share, maxVUs: maxVUs,
		quit: make(chan struct{}), done: make(chan struct{})}
	for i := range free {
		v := &vu{id: i, stop: make(chan struct{}), mailbox: make(chan time.Time, 1)}
		om.all = append(om.all, v)
		om.free = append(om.free, v)
	}
	return om
}

// One wake-up of the dispatcher hands out every arrival already due, in
// order, to the free VUs (the most recently freed first); those that find no
// free VU with the pool at its cap are dropped, not kept for later; and it
// reports when the next arrival is due.
func TestDispatcherHandsOutTheWholeBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Arrivals at 0, 10, …, 40 ms are due, 50 ms is not; two free VUs at a cap of 2.
		om := handOffModel(t, 45*time.Millisecond, 2, 2)
		first, second := om.free[1], om.free[0]
		next, more := om.handDue()
		if !more || !next.Equal(om.origin.Add(50*time.Millisecond)) {
			t.Fatalf("next due at %v (more %v), want 50 ms", next.Sub(om.origin), more)
		}
		for _, c := range []struct {
			v    *vu
			want time.Duration
		}{{first, 0}, {second, 10 * time.Millisecond}} {
			select {
			case at := <-c.v.mailbox:
				if got := at.Sub(om.origin); got != c.want {
					t.Errorf("VU %d got the arrival intended at %v, want %v", c.v.id, got, c.want)
				}
			default:
				t.Errorf("VU %d got no arrival", c.v.id)
			}
		}
		if d := om.dropped.Load(); d != 3 {
			t.Errorf("dropped %d, want 3 (arrivals at 20, 30, 40 ms)", d)
		}
		if om.lag.Count() != 5 || om.next != 5 || len(om.free) != 0 {
			t.Errorf("lag samples %d, next arrival %d, free VUs %d; want 5, 5, 0", om.lag.Count(), om.next, len(om.free))
		}
	})
}

// A VU done with its iteration takes the next arrival itself when it is
// already due, with that arrival's intended time; when none is due it joins
// the free VUs; once the pool stops it is told to exit.
func TestFinishingVUTakesTheDueArrival(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		om := handOffModel(t, 15*time.Millisecond, 0, 1)
		v := &vu{stop: make(chan struct{}), mailbox: make(chan time.Time, 1)}
		om.all = append(om.all, v)
		for _, want := range []time.Duration{0, 10 * time.Millisecond} {
			at, took, alive := om.takeOrRelease(v)
			if !took || !alive || at.Sub(om.origin) != want {
				t.Fatalf("took %v (alive %v) the arrival intended at %v, want %v", took, alive, at.Sub(om.origin), want)
			}
		}
		// The arrival at 20 ms is not due yet: v waits among the free VUs.
		if _, took, alive := om.takeOrRelease(v); took || !alive || len(om.free) != 1 || om.free[0] != v {
			t.Fatalf("took %v, alive %v, free %d; want v free and waiting", took, alive, len(om.free))
		}
		if om.lag.Count() != 2 || om.next != 2 || om.dropped.Load() != 0 {
			t.Errorf("lag samples %d, next %d, dropped %d; want 2, 2, 0", om.lag.Count(), om.next, om.dropped.Load())
		}
		// At 20 ms the dispatcher finds v free and hands it over.
		time.Sleep(5 * time.Millisecond)
		if _, more := om.handDue(); !more {
			t.Fatal("the schedule ended early")
		}
		if at := <-v.mailbox; at.Sub(om.origin) != 20*time.Millisecond {
			t.Errorf("v got the arrival intended at %v, want 20ms", at.Sub(om.origin))
		}
		om.stop()
		if _, took, alive := om.takeOrRelease(v); took || alive {
			t.Errorf("after stop: took %v, alive %v; want neither", took, alive)
		}
	})
}
