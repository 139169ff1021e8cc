package worker

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/loadforge/loadforge/internal/clock"
	"github.com/loadforge/loadforge/internal/http1"
)

// vu is one virtual user: a goroutine running the scenario.
type vu struct {
	id    int           // start order within the worker, from 0
	stop  chan struct{} // closed: finish the current iteration, tear down and exit
	shard *shard
	rng   *rand.Rand // this VU's own source: no lock shared with other VUs
	think *time.Timer
	fast  *http1.Session // the VU's connections of the fast client; nil until its first request
	h2    *h2Session     // the VU's HTTP/2 connections; nil until its first HTTP/2 request
	scn   *vuScenario    // the VU's variables and cookies; nil when the spec uses none
	// mailbox (open model) holds the intended start of the VU's next
	// iteration; the dispatcher fills it only while the VU is free.
	mailbox chan time.Time
	// firstStart and lastEnd are when the first request recorded since
	// runIteration cleared them started and the last one ended: an
	// iteration's bounds, read without clock readings of its own.
	firstStart, lastEnd time.Time
}

// pool is the worker's VUs as a stack: the newest is the first to stop.
type pool struct {
	mu     sync.Mutex
	stack  []*vu // running and not told to stop, oldest first
	nextID int
}

// resize starts or stops VUs until n are running, calling start for each new
// one with its place in the stack.
func (p *pool) resize(n int, start func(v *vu, slot int)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.stack) > n {
		last := len(p.stack) - 1
		close(p.stack[last].stop)
		p.stack[last] = nil
		p.stack = p.stack[:last]
	}
	for len(p.stack) < n {
		v := &vu{
			id:   p.nextID,
			stop: make(chan struct{}),
			rng:  rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		}
		p.nextID++
		start(v, len(p.stack))
		p.stack = append(p.stack, v)
	}
}

// ids returns the ids of the running VUs, oldest first.
func (p *pool) ids() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]int, len(p.stack))
	for i, v := range p.stack {
		ids[i] = v.id
	}
	return ids
}

// startVU launches v's goroutine; slot is its place in the stack, which picks
// its shard, so that the VUs running at any time spread over all shards.
func (w *Worker) startVU(v *vu, slot int) {
	v.shard = w.shards[slot%len(w.shards)]
	w.alive.Add(1)
	w.vuWG.Add(1)
	go func() {
		defer w.vuWG.Done()
		defer w.alive.Add(-1)
		w.runVU(w.stopCtx, v)
	}()
}

// runVU is a VU's life: setup once, iterations until told to stop, teardown
// once. stopCtx is cancelled when in-flight requests must be cut off; the VU
// then sends nothing more, not even its teardown.
func (w *Worker) runVU(stopCtx context.Context, v *vu) {
	if !w.startScenarioVU(v) {
		return // the data set's rows ran out: nothing to do
	}
	w.runRequests(stopCtx, v, w.setup)
	for stopCtx.Err() == nil && !v.stopping() {
		if !w.beginIteration(v) {
			break // the run's iterations are made, or the rows ran out
		}
		w.runIteration(stopCtx, v, time.Time{})
		if !v.thinkFor(w.thinkTime(v.rng)) {
			break
		}
	}
	if stopCtx.Err() == nil {
		w.runRequests(stopCtx, v, w.teardown)
	}
	if v.think != nil {
		v.think.Stop()
	}
	v.closeConns()
}

// runIteration runs one iteration, of a task picked by weight, and counts it
// when it ran to its end, with its duration: from its start to its last
// response. When nothing comes before its first request's start (no
// rendering, no rate limit), that start is the iteration's. intended is the
// open model's arrival (zero in the closed model): see runRequestsFrom.
func (w *Worker) runIteration(stopCtx context.Context, v *vu, intended time.Time) {
	var start time.Time
	if !w.startAtRequest {
		start = clock.Now()
	}
	v.firstStart = time.Time{}
	if w.runRequestsFrom(stopCtx, v, w.tasks[w.pickTask(v.rng)], intended) {
		if start.IsZero() {
			start = v.firstStart
		}
		v.shard.iterationDone(start, v.lastEnd)
	}
}

// startsAtRequest reports whether every task's first request is sent
// without anything before it that takes time: no rate limit to wait for,
// nothing to render.
func startsAtRequest(tasks [][]*requestTemplate, limiter *requestLimiter) bool {
	if limiter != nil {
		return false
	}
	for _, reqs := range tasks {
		if len(reqs) == 0 || (reqs[0].dyn != nil && !reqs[0].dyn.static) {
			return false
		}
	}
	return true
}

// runRequests sends reqs in order, recording each, and reports whether all were
// sent. A failed request does not end the sequence; a cancelled stop does.
func (w *Worker) runRequests(stopCtx context.Context, v *vu, reqs []*requestTemplate) bool {
	return w.runRequestsFrom(stopCtx, v, reqs, time.Time{})
}

// runRequestsFrom is runRequests for an iteration intended to start at
// intended (open model; zero otherwise): see outcome.fromIntended.
func (w *Worker) runRequestsFrom(stopCtx context.Context, v *vu, reqs []*requestTemplate, intended time.Time) bool {
	open := w.open.Load() != nil
	for _, t := range reqs {
		if w.limiter != nil {
			if err := w.limiter.wait(stopCtx, v.stop); err != nil {
				return false // never attempted: not counted
			}
		}
		if stopCtx.Err() != nil {
			return false
		}
		o := w.send(stopCtx, v, t)
		if o.unsent {
			w.flushChecks(v) // a request that could not be rendered fails its checks
			return false     // never reached the target: not counted
		}
		for range o.earlier {
			v.shard.record(t.endpoint, outcome{errKind: kindReset, latencyUs: -1, bytesOut: o.bytesOut, start: o.start, end: o.start})
		}
		if o.notSent != causeNone {
			w.noteNotSent(o.notSent)
			v.thinkFor(notSentPause)
			return false // never attempted: counted apart, the iteration abandoned
		}
		if open {
			intended = o.fromIntended(intended)
		}
		v.shard.record(t.endpoint, o)
		if v.firstStart.IsZero() {
			v.firstStart = o.start
		}
		v.lastEnd = o.end
		if w.raw != nil {
			w.raw.record(v.id, t.endpoint, &o)
		}
		w.flushChecks(v)
	}
	return stopCtx.Err() == nil
}

// pickTask draws a task index with probability weight/total.
func (w *Worker) pickTask(rng *rand.Rand) int {
	if len(w.tasks) == 1 {
		return 0
	}
	r := rng.IntN(w.totalWeight)
	// cumWeights[i] is the sum of the weights of tasks 0..i: the first above r wins.
	return sort.SearchInts(w.cumWeights, r+1)
}

// thinkTime draws a think time uniformly in [ThinkMin, ThinkMax].
func (w *Worker) thinkTime(rng *rand.Rand) time.Duration {
	if w.thinkMax <= w.thinkMin {
		return w.thinkMin
	}
	return w.thinkMin + time.Duration(rng.Int64N(int64(w.thinkMax-w.thinkMin)+1))
}

func (v *vu) stopping() bool {
	select {
	case <-v.stop:
		return true
	default:
		return false
	}
}

// thinkFor waits d unless told to stop first; it reports whether to go on.
func (v *vu) thinkFor(d time.Duration) bool {
	if d <= 0 {
		return !v.stopping()
	}
	if v.think == nil {
		v.think = time.NewTimer(d)
	} else {
		v.think.Reset(d)
	}
	select {
	case <-v.stop:
		return false
	case <-v.think.C:
		return true
	}
}
