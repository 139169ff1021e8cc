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
	return handOffModelOf(t, []arrival.Stage{{Rate: 100}, {Duration: time.Second, Rate: 100}}, late, free, maxVUs)
}

// handOffModelOf is handOffModel with the given rate stages.
func handOffModelOf(t *testing.T, stages []arrival.Stage, late time.Duration, free, maxVUs int) *openModel {
	t.Helper()
	sched, err := arrival.New(stages)
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
		next, gap, more := om.handDue()
		if !more || !next.Equal(om.origin.Add(50*time.Millisecond)) || gap != 10*time.Millisecond {
			t.Fatalf("next due at %v, the one after %v later (more %v), want 50 ms and 10 ms", next.Sub(om.origin), gap, more)
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

// A VU done with its iteration takes no arrival that came due since the
// dispatcher's last wake-up: it joins the free VUs, and the dispatcher's next
// wake-up hands it the oldest due, with that arrival's intended time and lag,
// in the same batch as the rest (the next due, finding no VU free at the
// cap, is dropped). Once the pool stops, the VU is told to exit.
func TestFinishingVULeavesDueArrivalsToTheBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Arrivals at 0 and 10 ms are due; one busy VU, at a cap of 1.
		om := handOffModel(t, 15*time.Millisecond, 0, 1)
		v := &vu{stop: make(chan struct{}), mailbox: make(chan time.Time, 1)}
		om.all = append(om.all, v)
		if _, took, alive := om.takeOrRelease(v, false); took || !alive || len(om.free) != 1 || om.free[0] != v {
			t.Fatalf("took %v, alive %v, free %d; want v free, the due arrivals left", took, alive, len(om.free))
		}
		if om.lag.Count() != 0 || om.next != 0 {
			t.Fatalf("lag samples %d, next %d; want 0, 0: nothing handed out yet", om.lag.Count(), om.next)
		}
		next, _, more := om.handDue()
		if !more || next.Sub(om.origin) != 20*time.Millisecond {
			t.Fatalf("next due at %v (more %v), want 20ms", next.Sub(om.origin), more)
		}
		if at := <-v.mailbox; at.Sub(om.origin) != 0 {
			t.Errorf("v got the arrival intended at %v, want 0s", at.Sub(om.origin))
		}
		if om.lag.Count() != 2 || om.next != 2 || om.dropped.Load() != 1 {
			t.Errorf("lag samples %d, next %d, dropped %d; want 2, 2, 1", om.lag.Count(), om.next, om.dropped.Load())
		}
		om.stop()
		if _, took, alive := om.takeOrRelease(v, false); took || alive {
			t.Errorf("after stop: took %v, alive %v; want neither", took, alive)
		}
	})
}

// An arrival that finds no VU free below the cap waits and starts one VU;
// while that VU dials, later arrivals wait without starting more, until the
// dial has taken slowDial: then the next starts beside it. Each
// waiting arrival no starting VU covers counts as a VU to come against the
// cap, so that as many are dropped as when a VU was started for each. The
// waiting arrivals go, oldest first, to the first VU ready, new or freed,
// each with its lag, also after a graceful stop began; those still waiting
// when no VU is left are dropped.
func TestWaitingArrivalsGrowThePoolOneDialAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Arrivals at 0, 10, 20, 30 and 40 ms are due; one busy VU, a cap of 4.
		om := handOffModel(t, 45*time.Millisecond, 0, 4)
		busy, started := busyAndStarted(om)
		om.handDue()
		// Arrival 0 started a VU; 10 and 20 ms wait for it (2 VUs and 1, then
		// 2, uncovered arrivals stay below 4); 30 and 40 ms reach the cap.
		if len(*started) != 1 || om.waiting.len() != 3 || om.dropped.Load() != 2 || om.lag.Count() != 2 {
			t.Fatalf("started %d, waiting %d, dropped %d, lag samples %d; want 1, 3, 2, 2",
				len(*started), om.waiting.len(), om.dropped.Load(), om.lag.Count())
		}
		// Its dial done, the next VU starts: more wait than are starting.
		om.connected()
		if len(*started) != 2 || om.starting != 2 || om.dialing != 1 {
			t.Fatalf("started %d, starting %d, dialing %d; want 2, 2, 1", len(*started), om.starting, om.dialing)
		}
		// The busy VU finishes first and takes the oldest arrival.
		if at, took, _ := om.takeOrRelease(busy, false); !took || at.Sub(om.origin) != 0 {
			t.Fatalf("busy VU took %v the arrival intended at %v, want 0", took, at.Sub(om.origin))
		}
		// The first new VU, ready, takes the next.
		if at, took, _ := om.takeOrRelease((*started)[0], true); !took || at.Sub(om.origin) != 10*time.Millisecond {
			t.Fatalf("new VU took %v the arrival intended at %v, want 10ms", took, at.Sub(om.origin))
		}
		if om.lag.Count() != 4 || om.waiting.len() != 1 || om.starting != 1 {
			t.Fatalf("lag samples %d, waiting %d, starting %d; want 4, 1, 1", om.lag.Count(), om.waiting.len(), om.starting)
		}
		// Less than slowDial later, nothing more starts while a VU dials.
		om.mu.Lock()
		om.growLocked(time.Now().Add(slowDial - time.Microsecond))
		om.mu.Unlock()
		if len(*started) != 2 {
			t.Fatalf("started %d while a VU dials, want 2", len(*started))
		}
		// At 50 ms: 3 VUs, the one waiting arrival covered by the VU still
		// dialling; the arrival waits too, and as that dial has taken 10 ms,
		// the next VU starts beside it, reaching the cap.
		time.Sleep(10 * time.Millisecond)
		om.handDue()
		if om.dropped.Load() != 2 || om.waiting.len() != 2 || len(*started) != 3 || om.dialing != 2 {
			t.Fatalf("dropped %d, waiting %d, started %d, dialing %d; want 2, 2, 3, 2",
				om.dropped.Load(), om.waiting.len(), len(*started), om.dialing)
		}
		// A graceful stop: the waiting arrivals still go to VUs coming free;
		// once no VU is left, those still waiting are dropped.
		om.stop()
		if at, took, alive := om.takeOrRelease(busy, false); !took || !alive || at.Sub(om.origin) != 20*time.Millisecond {
			t.Fatalf("after stop the busy VU took %v (alive %v) the arrival intended at %v, want 20ms", took, alive, at.Sub(om.origin))
		}
		if om.dropped.Load() != 2 || om.waiting.len() != 1 {
			t.Fatalf("after stop: dropped %d, waiting %d; want 2, 1", om.dropped.Load(), om.waiting.len())
		}
		for range om.all {
			om.vuExited()
		}
		if om.dropped.Load() != 3 || om.waiting.len() != 0 {
			t.Errorf("every VU gone: dropped %d, waiting %d; want 3, 0", om.dropped.Load(), om.waiting.len())
		}
	})
}

// While the rate is one the dispatcher batches at (10,000/s and more),
// arrivals that find no VU free wait growAfter before they start one: a
// backlog the busy VUs clear sooner starts none, one that lasts starts a VU
// once it has lasted growAfter, and the dispatcher wakes for that even when
// no arrival is due until long after.
func TestFastArrivalsWaitBeforeThePoolGrows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		us := time.Microsecond
		// 10,000/s for 1 ms (arrivals 0, 100, …, 900 µs), a pause of a
		// second, then 10,000/s again; one busy VU, a cap of 10.
		stages := []arrival.Stage{{Rate: 10_000}, {Duration: time.Millisecond, Rate: 10_000}, {Rate: 0},
			{Duration: time.Second, Rate: 0}, {Rate: 10_000}, {Duration: time.Second, Rate: 10_000}}
		om := handOffModelOf(t, stages, 250*us, 0, 10)
		busy, started := busyAndStarted(om)
		// Arrivals at 0, 100 and 200 µs wait; none starts a VU.
		om.handDue()
		if len(*started) != 0 || om.waiting.len() != 3 || om.dropped.Load() != 0 {
			t.Fatalf("started %d, waiting %d, dropped %d; want 0, 3, 0", len(*started), om.waiting.len(), om.dropped.Load())
		}
		// The busy VU clears them before growAfter: none started.
		for range 3 {
			if _, took, _ := om.takeOrRelease(busy, false); !took {
				t.Fatal("the busy VU took no waiting arrival")
			}
		}
		// At 650 µs arrivals 300 to 600 µs begin to wait, at 950 µs the
		// rest of the burst joins them, and the next arrival is due after
		// the pause: the dispatcher is to wake growAfter after they began
		// to wait, and then starts a VU.
		time.Sleep(400 * us)
		began := time.Now()
		if _, _, more := om.handDue(); !more || om.waiting.len() != 4 || len(*started) != 0 {
			t.Fatalf("waiting %d, started %d (more %v); want 4, 0", om.waiting.len(), len(*started), more)
		}
		time.Sleep(300 * us)
		next, _, more := om.handDue()
		if !more || om.waiting.len() != 7 || len(*started) != 0 {
			t.Fatalf("waiting %d, started %d (more %v); want 7, 0", om.waiting.len(), len(*started), more)
		}
		if wake := next.Sub(began); wake != growAfter {
			t.Fatalf("dispatcher to wake %v after the wait began, want %v", wake, growAfter)
		}
		time.Sleep(time.Until(next))
		om.handDue()
		if len(*started) != 1 || om.starting != 1 {
			t.Errorf("after growAfter: started %d, starting %d; want 1, 1", len(*started), om.starting)
		}
	})
}

// Below 10,000 arrivals/s an arrival that finds no VU free starts one at once.
func TestSlowArrivalsGrowThePoolAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 7,000/s: arrival 0 is due, the next 143 µs later.
		om := handOffModelOf(t, []arrival.Stage{{Rate: 7000}, {Duration: time.Second, Rate: 7000}}, 0, 0, 10)
		_, started := busyAndStarted(om)
		om.handDue()
		if len(*started) != 1 || om.waiting.len() != 1 {
			t.Errorf("started %d, waiting %d; want 1, 1", len(*started), om.waiting.len())
		}
	})
}

// A VU started for waiting arrivals that finds them taken by VUs freed
// meanwhile joins the free VUs, and the next arrival goes to it.
func TestNewVUFindingNoneWaitingIsFree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		om := handOffModel(t, 5*time.Millisecond, 0, 4)
		busy, started := busyAndStarted(om)
		om.handDue() // arrival 0 waits; a VU starts
		if _, took, _ := om.takeOrRelease(busy, false); !took {
			t.Fatal("the freed VU did not take the waiting arrival")
		}
		om.connected()
		if _, took, alive := om.takeOrRelease((*started)[0], true); took || !alive || len(om.free) != 1 || om.free[0] != (*started)[0] {
			t.Fatalf("new VU took %v, alive %v, free %d; want it free", took, alive, len(om.free))
		}
		if len(*started) != 1 || om.starting != 0 || om.dialing != 0 {
			t.Errorf("started %d, starting %d, dialing %d; want 1, 0, 0", len(*started), om.starting, om.dialing)
		}
		time.Sleep(10 * time.Millisecond)
		om.handDue()
		if at := <-(*started)[0].mailbox; at.Sub(om.origin) != 10*time.Millisecond {
			t.Errorf("the free VU got the arrival intended at %v, want 10ms", at.Sub(om.origin))
		}
	})
}

// Short of CPU, the pool grows by one VU each saturatedGrowth, however many
// arrivals wait and however fast the dials go.
func TestSaturatedPoolGrowsSlowly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		om := handOffModel(t, 45*time.Millisecond, 0, 100)
		_, started := busyAndStarted(om)
		om.saturated.Store(true)
		om.handDue() // 5 arrivals wait; the first starts a VU
		om.connected()
		if len(*started) != 1 || om.waiting.len() != 5 {
			t.Fatalf("started %d, waiting %d; want 1, 5", len(*started), om.waiting.len())
		}
		time.Sleep(saturatedGrowth - time.Millisecond)
		om.handDue()
		if len(*started) != 1 {
			t.Fatalf("started %d before saturatedGrowth passed, want 1", len(*started))
		}
		time.Sleep(time.Millisecond)
		om.handDue()
		if len(*started) != 2 {
			t.Fatalf("started %d once saturatedGrowth passed, want 2", len(*started))
		}
		// With CPU again, the next starts once the last dial is done.
		om.saturated.Store(false)
		om.connected()
		if len(*started) != 3 {
			t.Errorf("started %d with CPU again, want 3", len(*started))
		}
	})
}

// busyAndStarted adds a busy VU to om, and makes om's new VUs stand-ins
// (no goroutine) listed in started, in start order.
func busyAndStarted(om *openModel) (busy *vu, started *[]*vu) {
	busy = &vu{id: 0, stop: make(chan struct{}), mailbox: make(chan time.Time, 1)}
	om.all = append(om.all, busy)
	started = new([]*vu)
	om.newVU = func(bool) *vu {
		v := &vu{id: len(om.all), stop: make(chan struct{}), mailbox: make(chan time.Time, 1)}
		om.all = append(om.all, v)
		*started = append(*started, v)
		return v
	}
	return busy, started
}
