package worker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadforge/loadforge/internal/arrival"
	"github.com/loadforge/loadforge/internal/clock"
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
// next one is due, then hands every arrival due by then to a free VU, and
// sleeps once to the next. An arrival that finds no VU free waits for the
// first VU to be ready, a busy one coming free or one the pool starts for the
// waiting arrivals (growLocked), unless the pool, counting those arrivals, is
// at max_vus: then it is dropped. A VU that finishes its iteration takes the
// oldest waiting arrival before it would park, but leaves an arrival that
// came due since the dispatcher's last wake-up to its next one, so that the
// requests of a batch go out together (see takeOrRelease). The dispatcher
// waits for no VU and no response, so the schedule never slides: a shortfall
// is either a dropped iteration or, for an arrival handed over late, latency.
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
	next uint64
	cur  arrivalShare
	free []*vu // idle VUs; the most recently freed is reused first
	all  []*vu // every VU started, in start order
	// waiting are the intended times of arrivals that found no VU free
	// while the pool could still grow, oldest first: the first VU to come
	// free or to be ready takes the oldest. While any wait, no VU is free.
	waiting arrivalQueue
	// waitingSince is when the waiting arrivals began to wait: when the
	// queue last went from empty to not empty.
	waitingSince time.Time
	// starting counts the VUs started for waiting arrivals that have not
	// taken their first one yet; dialing, those of them still dialling.
	starting, dialing int
	exited            int       // VUs whose goroutine ended
	lastStart         time.Time // when growLocked last started a VU
	// sat is the dispatcher's look at whether the process is short of CPU
	// (see growLocked); saturated its last answer. Nil sat: never saturated.
	sat       *saturation
	saturated atomic.Bool
	// newVU starts a VU (startVU; a test's stand-in records the decision).
	newVU   func(preAllocated bool) *vu
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
	if !w.timersOnly {
		om.sat = newSaturation()
	}
	om.newVU = om.startVU
	// Published before any VU starts: their requests record the service time.
	w.open.Store(om)
	om.mu.Lock()
	for range localPre {
		om.free = append(om.free, om.startVU(true))
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
		due, gap, more := om.handDue()
		if !more {
			om.dropOverdue()
			return
		}
		due, every := om.wakeAt(clock.Now(), due, gap)
		if !om.sleepUntil(due, every, timer) {
			om.dropOverdue()
			return
		}
		if om.sat != nil {
			// The wake-up's due time serves as now: the latencies are read
			// once a 20 ms window, so no clock read or lock per wake-up.
			om.saturated.Store(om.sat.shortOfCPU(due))
		}
	}
}

// wakeAt is when the dispatcher, at now, wakes next for the arrival due at
// due, the one after it coming gap later (0: none); every is the batch
// window when the wake-up is one, the window's length after now (0: not).
func (om *openModel) wakeAt(now, due time.Time, gap time.Duration) (wake time.Time, every time.Duration) {
	// A change of share heard while waiting must still apply before its
	// effective time, which comes reshareLead after it is made: wait in
	// steps well below that, then look again.
	if wake := now.Add(reshareLead / 4); wake.Before(due) {
		due = wake
	}
	// A wake-up costs more than an arrival at thousands a second: sleep at
	// least the batch window, and hand out what came due meanwhile. Not past
	// the schedule's end, though: the run stops then, and an arrival due
	// before it but left for a later wake-up would be dropped.
	end := om.origin.Add(om.sched.Duration())
	window := batchWindow(gap)
	if wake := now.Add(window); due.Before(wake) && !wake.After(end) {
		return wake, window
	}
	return due, 0
}

// batchWindow is the dispatcher's shortest sleep when arrivals come gap
// apart: long enough for about batchArrivals of them, within [minBatch,
// maxBatch]. Each wake-up of an idle process costs a context switch and the
// runtime's search for work, more than an arrival's own hand-off: handing
// several out per wake-up (and sending their requests together) cut the CPU
// per request by about a fifth at 5,000/s, a floor of 500 µs rather than
// 100 µs cut it again at 20,000 and 50,000/s, five arrivals' gap rather
// than four (1 ms rather than 800 µs at 5,000/s) by a tenth there, and a
// floor of 750 µs rather than 500 by a tenth at 20,000/s
// (docs/performance.md, lessons 12, 15, 17 and 18). The price is lag: an arrival
// goes up to the window late (plus the kernel's timer slack, 50 µs by
// default), recorded as schedule lag and counted in its latency, which runs
// from the intended time. Arrivals more than maxBatch apart each get their
// own wake-up, on time.
func batchWindow(gap time.Duration) time.Duration {
	return min(maxBatch, max(minBatch, batchArrivals*gap))
}

const (
	batchArrivals = 5
	minBatch      = 750 * time.Microsecond
	maxBatch      = time.Millisecond
)

// handDue hands out, under one lock, every arrival due by now, and says when
// the next one is due and how long after it the one after comes (0: none);
// more is false once the worker's share of the schedule is done or the pool
// stopped.
func (om *openModel) handDue() (next time.Time, gap time.Duration, more bool) {
	om.mu.Lock()
	defer om.mu.Unlock()
	// The clock is read again only when the next arrival is not due by the
	// last reading: two reads per wake-up, not one per arrival.
	now := clock.Now()
	for !om.stopped {
		due, ok := om.peekLocked()
		if !ok {
			return time.Time{}, 0, false
		}
		if due.After(now) {
			now = clock.Now()
		}
		if due.After(now) {
			om.growLocked(now) // waiting arrivals whose VU dials slowly
			if after, ok := om.sched.At(om.next + om.cur.of); ok {
				gap = om.origin.Add(after).Sub(due)
			}
			// Waiting arrivals held back by growFrom start a VU then,
			// however far off the next arrival is.
			if grow := om.growFrom(now); om.waiting.len() > om.starting && grow.After(now) && grow.Before(due) {
				due = grow
			}
			return due, gap, true
		}
		om.next += om.cur.of
		om.handLocked(due, now)
	}
	return time.Time{}, 0, false
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

// sleepUntil waits until due, a batch window's end when every (the
// window) is not 0; false when told to stop first.
func (om *openModel) sleepUntil(due time.Time, every time.Duration, timer *time.Timer) bool {
	if om.sleeper != nil {
		// A window's end may come a little sooner: the timer is not armed
		// anew for each (preciseSleeper.sleepUntil).
		if err := om.sleeper.sleepUntil(due, every); err != nil {
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
// recently freed one; with none free, it waits for the first VU to come free
// or to be started, unless the pool is at its cap, counting each waiting
// arrival that no starting VU covers as a VU to come: then it is dropped.
// om.mu is held.
func (om *openModel) handLocked(due, now time.Time) {
	n := len(om.free)
	if n == 0 {
		if len(om.all)+max(0, om.waiting.len()-om.starting) >= om.maxVUs {
			om.recordLag(due, now)
			om.dropped.Add(1)
			return
		}
		if om.waiting.len() == 0 {
			om.waitingSince = now
		}
		om.waiting.push(due)
		om.growLocked(now)
		return
	}
	om.recordLag(due, now)
	v := om.free[n-1]
	om.free[n-1] = nil
	om.free = om.free[:n-1]
	// A free VU's mailbox is empty, so this never blocks.
	v.mailbox <- due
}

// growLocked starts a VU when more arrivals wait than VUs are starting for
// them, below the cap, from growFrom on: one dial at a time, or one more
// each slowDial while dials take longer. A new VU costs more CPU than an
// arrival's gap at tens of thousands a second, and its first request on a
// new connection is slower than the next: a VU started for every arrival
// that finds none free, as each did before, fed on itself and ran the pool
// to max_vus in the first milliseconds of a run, or after a stall. The
// waiting arrivals go to the first VU ready, new or freed. om.mu is held.
func (om *openModel) growLocked(now time.Time) {
	if om.stopped || om.waiting.len() <= om.starting || len(om.all) >= om.maxVUs {
		return
	}
	if now.Before(om.growFrom(now)) {
		return
	}
	if om.dialing > 0 && now.Sub(om.lastStart) < slowDial {
		return
	}
	// Short of CPU, more VUs cannot send more: arrivals wait because the
	// VUs' responses wait to be read, and every VU more costs CPU (its
	// start, its connection, the runtime's timers and the cache), so that at
	// 50,000/s a pool grown to 1,000 VUs sent less than one of 100, at a
	// tenth of its p99. The pool then grows by one VU each saturatedGrowth,
	// still growing when the shortage has another cause (a busy machine)
	// and the server is slow.
	if om.saturated.Load() && now.Sub(om.lastStart) < saturatedGrowth {
		return
	}
	om.starting++
	om.dialing++
	om.lastStart = now
	om.newVU(false)
}

// growFrom is when the waiting arrivals may start a VU: at once, except
// while the worker's rate is pauseRate (10,000/s) or more, when they first
// wait growAfter. There a backlog the VUs clear within growAfter is the
// process's own pause, not a pool too small: at 50,000/s the quarter-second
// bookkeeping, a GC or a stall of the host left one or two milliseconds of
// arrivals waiting, each time starting a VU or a few that the pool kept (it
// never shrinks); grown so to 130–400 VUs in 10 s, it had more requests in
// flight after each pause and sent them at more CPU each
// (docs/performance.md, lesson 16). A pool too small for its server keeps
// arrivals waiting longer than that and grows growAfter later than it would
// have. Below 10,000/s a pause leaves an arrival or two waiting, and the pool
// grows at once, as a slow server there needs.
func (om *openModel) growFrom(now time.Time) time.Time {
	if perSecond := om.sched.Rate(now.Sub(om.origin)) / float64(max(om.cur.of, 1)); perSecond < pauseRate {
		return time.Time{}
	}
	return om.waitingSince.Add(growAfter)
}

const growAfter = 2 * time.Millisecond

// pauseRate is the rate (arrivals/s, the worker's own) from which waiting
// arrivals first wait growAfter: where the batch window was at its floor
// when that wait was measured (500 µs then; lesson 16).
const pauseRate = 10_000

// slowDial is how long a dial may take before the pool starts the next VU
// beside it: a loopback dial takes about 0.1 ms of CPU, one across a network
// a round trip, and a pool that waits on round trips one by one would grow
// by a few VUs a second.
const slowDial = time.Millisecond

// saturatedGrowth is the pool's pace of growth while the process is short of CPU.
const saturatedGrowth = 100 * time.Millisecond

// connected is a new VU's word that its dial is done: the next may start.
func (om *openModel) connected() {
	om.mu.Lock()
	defer om.mu.Unlock()
	om.dialing--
	om.growLocked(time.Now())
}

func (om *openModel) recordLag(due, now time.Time) {
	om.lagMu.Lock()
	om.lag.Record(now.Sub(due).Microseconds())
	om.lagMu.Unlock()
}

// startVU starts a new VU of the pool; om.mu is held. A pre-allocated VU
// starts free; one started for waiting arrivals takes the oldest once ready.
func (om *openModel) startVU(preAllocated bool) *vu {
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
		w.runOpenVU(w.stopCtx, v, om, preAllocated)
	}()
	return v
}

// takeOrRelease is v's turn once its iteration is done, or, for a VU
// started for waiting arrivals (first), once it is ready: v takes the oldest
// waiting arrival (took); else v goes back among the free VUs to wait for the
// dispatcher. alive is false when the pool is stopping and v should exit.
//
// An arrival that came due since the dispatcher's last wake-up is left to its
// next one, though v could take it now without waking a goroutine: taken so,
// one by one as they came due, the requests went out evenly spaced, each
// waking the server from idle and each response waking this process, where
// the dispatcher's batch sends them together and their responses come back
// together. On a virtual machine a wake-up of an idle CPU costs more than a
// request's own system calls, and leaving the due arrivals to the batch cut
// the CPU per request by 10–18 % at 5,000–50,000/s against nginx on the other
// CPU (docs/performance.md, lesson 17). Such an arrival waits at most the
// batch window, as those that came due while no VU was finishing do: the
// schedule lag's p99 rose to about the window (0.40 → 0.55 ms at 20,000/s).
func (om *openModel) takeOrRelease(v *vu, first bool) (intended time.Time, took, alive bool) {
	om.mu.Lock()
	defer om.mu.Unlock()
	if first {
		om.starting--
	}
	// Waiting arrivals were due and handed to the pool, as those handed to
	// a VU: they still run after a graceful stop begins.
	if om.waiting.len() > 0 {
		due := om.waiting.pop()
		om.recordLag(due, clock.Now())
		return due, true, true
	}
	if om.stopped {
		return time.Time{}, false, false
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
	om.dropStrandedLocked()
	close(om.quit)
	if om.sleeper != nil {
		om.sleeper.close()
	}
	for _, v := range om.all {
		close(v.stop)
	}
	// A free VU waits on its mailbox alone: the zero time tells it to stop.
	// Its mailbox is empty, so this never blocks.
	for _, v := range om.free {
		v.mailbox <- time.Time{}
	}
	om.free = nil
}

// runOpenVU is an open-model VU's life: its connections dialled, setup once,
// then one iteration per arrival handed to it, then teardown once. A
// pre-allocated VU dials while it waits for its first arrival (the scale
// command comes ahead of t0); one started for waiting arrivals dials before
// it takes one, and its dial done lets the pool start the next.
func (w *Worker) runOpenVU(stopCtx context.Context, v *vu, om *openModel, preAllocated bool) {
	defer om.vuExited()
	defer func() {
		if v.think != nil {
			v.think.Stop()
		}
		v.closeConns()
	}()
	if !w.startScenarioVU(v) {
		om.abandon(v, preAllocated) // the rows ran out
		return
	}
	w.connectAhead(stopCtx, v)
	if !preAllocated {
		om.connected()
	}
	w.runRequests(stopCtx, v, w.setup)
	var intended time.Time
	took, alive := false, true
	if !preAllocated {
		intended, took, alive = om.takeOrRelease(v, true)
	}
	for alive && stopCtx.Err() == nil {
		if !took {
			// A free VU waits on its mailbox alone (one channel, not a
			// select per arrival): stop sends the zero time to free VUs.
			if intended = <-v.mailbox; intended.IsZero() {
				break
			}
			if stopCtx.Err() != nil {
				took = true // handed over as in-flight work was cut off
				break
			}
		}
		took = false
		if !w.beginIteration(v) {
			om.dropped.Add(1) // handed over, never run: the rows ran out
			break
		}
		w.runIteration(stopCtx, v, intended)
		// A stop cuts the think time short. After a graceful one v still
		// takes the arrivals waiting for a VU, due before it, and exits
		// once none wait (takeOrRelease); once v simply exited, and 1 s
		// runs at 20,000/s dropped 1–7 of the last batch in 4 of 28.
		if d := w.thinkTime(v.rng); d > 0 {
			v.thinkFor(d)
		}
		if stopCtx.Err() != nil {
			break
		}
		intended, took, alive = om.takeOrRelease(v, false)
	}
	// An arrival handed over or taken but never begun (a hard stop came
	// first) counts as dropped: every arrival is either run or dropped.
	if took {
		om.dropped.Add(1)
	}
	om.dropUnbegun(v)
	if stopCtx.Err() == nil {
		w.runRequests(stopCtx, v, w.teardown)
	}
}

// vuExited is a VU's last word.
func (om *openModel) vuExited() {
	om.mu.Lock()
	defer om.mu.Unlock()
	om.exited++
	om.dropStrandedLocked()
}

// dropStrandedLocked counts as dropped the arrivals still waiting once the
// pool is stopped and no VU is left to run them (a hard stop, or the end of
// a graceful one): every arrival is either run or dropped. om.mu is held.
func (om *openModel) dropStrandedLocked() {
	if om.stopped && om.exited == len(om.all) {
		om.dropped.Add(uint64(om.waiting.len()))
		om.waiting = arrivalQueue{}
	}
}

// abandon takes v, which could not start, out of the pool's reckoning: a
// new VU no longer counts as starting, a pre-allocated one is no longer
// free, and an arrival already handed to it is dropped.
func (om *openModel) abandon(v *vu, preAllocated bool) {
	om.mu.Lock()
	defer om.mu.Unlock()
	if preAllocated {
		if i := slices.Index(om.free, v); i >= 0 {
			om.free = slices.Delete(om.free, i, i+1)
		}
	} else {
		om.starting--
		om.dialing--
	}
	om.dropUnbegun(v)
}

// dropUnbegun counts as dropped an arrival handed to v that v will not
// begin; the zero time stop sends is no arrival.
func (om *openModel) dropUnbegun(v *vu) {
	select {
	case at := <-v.mailbox:
		if !at.IsZero() {
			om.dropped.Add(1)
		}
	default:
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

// arrivalQueue holds the intended times of waiting arrivals, oldest first.
// It keeps its room as it empties: popping by reslicing gave the room at the
// front away, so that each burst of waiting arrivals (a stall) allocated
// anew, 7 % of the bytes allocated at 50,000 arrivals/s.
type arrivalQueue struct {
	q    []time.Time
	head int // q[head:] are waiting
}

func (a *arrivalQueue) len() int { return len(a.q) - a.head }

func (a *arrivalQueue) push(t time.Time) {
	// Moving the waiting ones to the front when they fill at most half of
	// the slice costs no more, over the pushes, than the appends.
	if len(a.q) == cap(a.q) && a.head*2 >= len(a.q) {
		a.q = a.q[:copy(a.q, a.q[a.head:])]
		a.head = 0
	}
	a.q = append(a.q, t)
}

// pop takes the oldest; the queue must not be empty.
func (a *arrivalQueue) pop() time.Time {
	t := a.q[a.head]
	a.head++
	if a.head == len(a.q) {
		a.q, a.head = a.q[:0], 0
	}
	return t
}
