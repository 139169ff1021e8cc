package worker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadforge/loadforge/internal/arrival"
	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
)

// The open model.
//
// The scale commands of an open-model run carry the whole arrival-rate
// pattern. From it and t0 alone the worker derives arrival i's intended time
// (package arrival), so no message on the bus can move an arrival, and one
// goroutine, the dispatcher, walks the arrivals in order: it sleeps until the
// next one is due, then hands every arrival due by then to a free VU, or
// starts a new VU for it while the pool is below max_vus, or else counts it as
// dropped, and sleeps once to the next. A VU that finishes its iteration takes
// the next arrival itself when it is already due, before it would park: it is
// free, so this is the hand-off the dispatcher would make, without waking a
// goroutine. Nothing waits for a VU or a response, so the schedule never
// slides: a shortfall is either a dropped iteration or, for an arrival handed
// over late, latency.
//
// A VU's first request of the iteration is timed from the arrival's intended
// time; each later request from the end of the one before (outcome.fromIntended).
// The service time, from the actual send, goes to a second histogram. The two
// differ by the time an arrival waited between its intended time and its
// send: the dispatcher's own lag, a VU that took it while still running its
// setup, an --rps-limit slot. How late the dispatcher handed arrivals over is
// the schedule lag, recorded per event.

// openModel runs the open model of one worker.
type openModel struct {
	w      *Worker
	sched  *arrival.Schedule
	origin time.Time    // the run's t0, with a monotonic reading
	t0ns   int64        // the run's t0, Unix ns
	share  arrivalShare // the share the dispatcher starts with
	// totalMaxVUs is the run's cap on the pool, split among the workers.
	totalMaxVUs int
	maxVUs      int           // this worker's part of it; om.mu
	quit        chan struct{} // closed by stop: dispatch nothing more
	// sleeper is the dispatcher's precise timer; nil: Go timers alone.
	sleeper *preciseSleeper
	done    chan struct{} // closed when the dispatcher has handed over its last arrival

	mu sync.Mutex
	// next is the next arrival to hand out, of share cur: the dispatcher and
	// VUs that finish an iteration take arrivals from it, in order.
	next    uint64
	cur     arrivalShare
	free    []*vu // idle VUs; the most recently freed is reused first
	all     []*vu // every VU started, in start order
	stopped bool
	// switches are changes of share not yet applied by the dispatcher, in order.
	switches []shareSwitch

	dropped atomic.Uint64 // since the last event
	lagMu   sync.Mutex
	lag     latency.Recorder // schedule lag since the last event, µs
}

// arrivalShare is the part of the run's arrivals a worker takes: arrivals
// index, index+of, index+2·of, … A worker alone takes them all; splitting the
// arrivals among workers (as k6's execution segments do) sets this.
type arrivalShare struct{ index, of uint64 }

// arrivalShare is this worker's share of the arrivals, and its share of the
// pool's cap and pre-allocation: segment i of n takes arrivals i, i+n, i+2n, …
// so that the workers' arrivals are disjoint and add up to the plan. The
// share is the one in force when the open model starts; a later assignment
// moves it at an arrival every worker agrees on (reshareOpen).
func (w *Worker) arrivalShare(maxVUs, preAllocated int) (share arrivalShare, localMax, localPre int) {
	i, n := w.Segment()
	if n <= 0 {
		i, n = 0, 1
	}
	return arrivalShare{index: uint64(i), of: uint64(n)}, max(1, segmentOf(maxVUs, i, n)), segmentOf(preAllocated, i, n)
}

// followPattern applies what a scale command says beyond the VU target: the
// pattern's end (for the rate limiter) and, for an open model, the arrival
// rate. It reports whether the command was an open model's.
func (w *Worker) followPattern(m *schemas.ScaleCommand) bool {
	if w.limiter != nil {
		w.limiter.start(time.Unix(0, m.AtNs-m.ElapsedNs))
		if m.EndNs > 0 {
			w.limiter.setEnd(time.Unix(0, m.EndNs))
		}
	}
	if m.Arrivals == nil {
		return false
	}
	if w.open.Load() == nil {
		if err := w.startOpen(m); err != nil {
			w.log.Error("open model not started", "err", err)
		}
	}
	return true
}

// maxOpenVUs bounds an open model's pool, whatever a command asks.
const maxOpenVUs = 1_000_000

// startOpen starts the open model of the command's pattern: the pre-allocated
// VUs and the dispatcher. The pattern is fixed for the run, so later commands
// change nothing.
func (w *Worker) startOpen(m *schemas.ScaleCommand) error {
	a := m.Arrivals
	sched, err := pattern.RateFromWire(a).Schedule()
	if err != nil {
		return fmt.Errorf("arrival rate: %w", err)
	}
	if a.MaxVUs < 1 || a.MaxVUs > maxOpenVUs || a.PreAllocatedVUs < 0 {
		return fmt.Errorf("arrival rate: max VUs %d and pre-allocated VUs %d", a.MaxVUs, a.PreAllocatedVUs)
	}
	share, localMax, localPre := w.arrivalShare(a.MaxVUs, min(m.TargetVUs, a.MaxVUs))
	om := &openModel{
		w:           w,
		sched:       sched,
		origin:      monotonic(time.Unix(0, m.AtNs-m.ElapsedNs)),
		t0ns:        m.AtNs - m.ElapsedNs,
		share:       share,
		next:        share.index,
		cur:         share,
		totalMaxVUs: a.MaxVUs,
		maxVUs:      localMax,
		quit:        make(chan struct{}),
		done:        make(chan struct{}),
		sleeper:     w.newSleeper(),
	}
	// Published before any VU starts: their requests record the service time.
	w.open.Store(om)
	om.mu.Lock()
	for range localPre {
		om.free = append(om.free, om.startVU())
	}
	om.mu.Unlock()
	w.vuWG.Add(1)
	go func() {
		defer w.vuWG.Done()
		om.dispatch()
	}()
	return nil
}

// dispatch hands every arrival of the worker's share to the pool at its
// intended time, until the schedule ends or stop. Each wake-up hands out every
// arrival due by then, then sleeps once, to the next one. An arrival already
// due (the dispatcher was late) goes at once: its lateness is recorded as lag
// and shows in its latency; the schedule itself never moves.
func (om *openModel) dispatch() {
	defer close(om.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		due, more := om.handDue()
		if !more {
			om.dropOverdue()
			return
		}
		now := time.Now()
		// A change of share heard while waiting must still apply before its
		// effective time, which comes reshareLead after it is made: wait in
		// steps well below that, then look again.
		if wake := now.Add(reshareLead / 4); wake.Before(due) {
			due = wake
		}
		// A wake-up costs more than an arrival at tens of thousands a
		// second: sleep at least minBatch, and hand out what came due
		// meanwhile (finishing VUs take some of it first).
		if wake := now.Add(minBatch); due.Before(wake) {
			due = wake
		}
		if !om.sleepUntil(due, timer) {
			om.dropOverdue()
			return
		}
	}
}

// minBatch is the shortest sleep of the dispatcher: at most this much (plus
// the kernel's timer slack, 50 µs by default) of lag is added to an arrival
// to save wake-ups, and only above 1/minBatch = 10,000 arrivals/s.
const minBatch = 100 * time.Microsecond

// handDue hands out, under one lock, every arrival due by now, and says when
// the next one is due; more is false once the worker's share of the schedule
// is done or the pool stopped.
func (om *openModel) handDue() (next time.Time, more bool) {
	om.mu.Lock()
	defer om.mu.Unlock()
	for !om.stopped {
		due, ok := om.peekLocked()
		if !ok {
			return time.Time{}, false
		}
		now := time.Now()
		if due.After(now) {
			return due, true
		}
		om.next += om.cur.of
		om.handLocked(due, now)
	}
	return time.Time{}, false
}

// peekLocked is the intended time of the next arrival to hand out, after the
// changes of share whose time has come by it; false when there is none.
func (om *openModel) peekLocked() (time.Time, bool) {
	om.next, om.cur, om.switches = advance(om.sched, om.next, om.cur, om.switches)
	off, ok := om.sched.At(om.next)
	return om.origin.Add(off), ok
}

// dropOverdue counts as dropped the arrivals of the worker's share that fell
// due before the dispatcher was stopped but were not handed over yet (a
// dispatcher behind its schedule on a busy machine): every arrival due in
// the run is either run or dropped. Arrivals not yet due are not counted.
func (om *openModel) dropOverdue() {
	om.mu.Lock()
	defer om.mu.Unlock()
	om.next, om.cur, om.switches = advance(om.sched, om.next, om.cur, om.switches)
	due := om.sched.Count(time.Since(om.origin))
	if due <= om.next || om.cur.of == 0 {
		return
	}
	n := (due - om.next + om.cur.of - 1) / om.cur.of
	om.dropped.Add(n)
	om.next += n * om.cur.of
}

// newSleeper is the dispatcher's precise timer: a Go timer may wake a
// millisecond late on an idle process, which at 10,000 arrivals/s is ten
// arrivals. Tests in fake time use Go timers alone.
func (w *Worker) newSleeper() *preciseSleeper {
	if w.timersOnly {
		return nil
	}
	return newPreciseSleeper()
}

// sleepUntil waits until due; false when told to stop first.
func (om *openModel) sleepUntil(due time.Time, timer *time.Timer) bool {
	if om.sleeper != nil {
		if err := om.sleeper.sleepUntil(due); err != nil {
			return false // closed by stop
		}
	} else if wait := time.Until(due); wait > 0 {
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-om.quit:
			return false
		}
	}
	select {
	case <-om.quit:
		return false
	default:
		return true
	}
}

// handLocked gives the arrival due at `due` to a VU, at now: the most
// recently freed one, or a new one below the cap; else it is dropped. om.mu
// is held.
func (om *openModel) handLocked(due, now time.Time) {
	om.recordLag(due, now)
	var v *vu
	switch n := len(om.free); {
	case n > 0:
		v = om.free[n-1]
		om.free[n-1] = nil
		om.free = om.free[:n-1]
	case len(om.all) < om.maxVUs:
		v = om.startVU()
	default:
		om.dropped.Add(1)
		return
	}
	// A free or new VU's mailbox is empty, so this never blocks.
	v.mailbox <- due
}

func (om *openModel) recordLag(due, now time.Time) {
	om.lagMu.Lock()
	om.lag.Record(now.Sub(due).Microseconds())
	om.lagMu.Unlock()
}

// startVU starts a new VU of the pool; om.mu is held.
func (om *openModel) startVU() *vu {
	w := om.w
	v := &vu{
		id:      len(om.all),
		stop:    make(chan struct{}),
		rng:     rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		mailbox: make(chan time.Time, 1),
		shard:   w.shards[len(om.all)%len(w.shards)],
	}
	om.all = append(om.all, v)
	w.alive.Add(1)
	w.vuWG.Add(1)
	go func() {
		defer w.vuWG.Done()
		defer w.alive.Add(-1)
		w.runOpenVU(w.stopCtx, v, om)
	}()
	return v
}

// takeOrRelease is v's turn once its iteration is done: when the next
// arrival is already due, v, being free, takes it itself (took); else v goes
// back among the free VUs to wait for the dispatcher. alive is false when the
// pool is stopping and v should exit.
func (om *openModel) takeOrRelease(v *vu) (intended time.Time, took, alive bool) {
	om.mu.Lock()
	defer om.mu.Unlock()
	if om.stopped {
		return time.Time{}, false, false
	}
	if due, ok := om.peekLocked(); ok {
		if now := time.Now(); !due.After(now) {
			om.next += om.cur.of
			om.recordLag(due, now)
			return due, true, true
		}
	}
	om.free = append(om.free, v)
	return time.Time{}, false, true
}

// stop ends the dispatch and tells every VU to stop once its iteration is
// done. It is idempotent.
func (om *openModel) stop() {
	om.mu.Lock()
	defer om.mu.Unlock()
	if om.stopped {
		return
	}
	om.stopped = true
	close(om.quit)
	if om.sleeper != nil {
		om.sleeper.close()
	}
	for _, v := range om.all {
		close(v.stop)
	}
	om.free = nil
}

// runOpenVU is an open-model VU's life: setup once, then one iteration per
// arrival handed to it, then teardown once.
func (w *Worker) runOpenVU(stopCtx context.Context, v *vu, om *openModel) {
	defer func() {
		if v.think != nil {
			v.think.Stop()
		}
		v.closeConns()
	}()
	if !w.startScenarioVU(v) {
		// The rows ran out: the arrival it was started for is dropped.
		select {
		case <-v.mailbox:
			om.dropped.Add(1)
		default:
		}
		return
	}
	w.runRequests(stopCtx, v, w.setup)
	var intended time.Time
	took, alive := false, true
	for alive && stopCtx.Err() == nil {
		if !took {
			var ok bool
			if intended, ok = v.nextArrival(stopCtx); !ok {
				break
			}
		}
		took = false
		if !w.beginIteration(v) {
			om.dropped.Add(1) // handed over, never run: the rows ran out
			break
		}
		start := time.Now()
		if w.runRequestsFrom(stopCtx, v, w.tasks[w.pickTask(v.rng)], intended) {
			v.shard.iterationDone(start, v.lastEnd)
		}
		if !v.thinkFor(w.thinkTime(v.rng)) {
			break
		}
		intended, took, alive = om.takeOrRelease(v)
	}
	// An arrival handed over or taken but never begun (a hard stop came
	// first) counts as dropped: every arrival is either run or dropped.
	if took {
		om.dropped.Add(1)
	}
	select {
	case <-v.mailbox:
		om.dropped.Add(1)
	default:
	}
	if stopCtx.Err() == nil {
		w.runRequests(stopCtx, v, w.teardown)
	}
}

// nextArrival waits for the intended start of v's next iteration. Told to
// stop, v still runs an arrival handed to it before: that iteration was in
// flight. ok is false when there is none, or in-flight work is being cut off.
func (v *vu) nextArrival(stopCtx context.Context) (intended time.Time, ok bool) {
	select {
	case intended = <-v.mailbox:
		return intended, true
	case <-v.stop:
	case <-stopCtx.Done():
		return time.Time{}, false
	}
	select {
	case intended = <-v.mailbox:
		return intended, true
	default:
		return time.Time{}, false
	}
}

// stopOpen stops the open model, if the run has one.
func (w *Worker) stopOpen() {
	if om := w.open.Load(); om != nil {
		om.stop()
	}
}

// fillOpen adds the open model's dropped iterations and schedule lag since
// the last event to ev.
func (w *Worker) fillOpen(ev *schemas.MetricEvent) {
	om := w.open.Load()
	if om == nil {
		return
	}
	ev.DroppedIterations += om.dropped.Swap(0)
	om.lagMu.Lock()
	ev.ScheduleLagUs = om.lag.Sparse()
	om.lag.Reset()
	om.lagMu.Unlock()
}
