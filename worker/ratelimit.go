package worker

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"
)

// requestLimiter caps the requests per second of all the VUs of a worker by
// spacing them evenly: request k of the run may start at origin + k/R, origin
// being the run's time zero. A token bucket would let a burst through at the
// start and round the rate; this admits exactly the requests whose slot falls
// before the end of the load pattern — R × duration of them when the VUs can
// keep up — and none after.
//
// Slots are reserved in order, so VUs waiting together take successive slots.
// Slots missed in a stall of up to catchUp (the machine paused the process)
// go at once, as a token bucket's burst would, so a hiccup costs no requests;
// after a longer lull (the VUs are slower than the cap) the missed slots are
// skipped: the cap never turns into a long burst.
type requestLimiter struct {
	interval float64 // ns between slots

	mu       sync.Mutex
	origin   time.Time // slot 0; zero until the first request or the run's start
	next     uint64    // the next slot to hand out, counted from origin
	end      time.Time // no slot at or after it; zero: no end known
	anchored bool      // origin was set (by the run's start or a first request)
	// ref maps the run's wall-clock instants onto the monotonic clock. One
	// reference for all of them keeps their differences exact: slot 2000 of a
	// 500/s limit falls exactly on a 4 s end, not a few ns before it.
	ref time.Time
}

// catchUp bounds the stall whose missed slots still go: a tenth of a second's
// worth of requests at most, the burst of a token bucket sized for it.
const catchUp = 100 * time.Millisecond

// errLimitEnded: the load pattern's end has passed; no slot is left.
var errLimitEnded = errors.New("rate limit: the load pattern has ended")

func newRequestLimiter(perSecond float64) *requestLimiter {
	return &requestLimiter{interval: 1e9 / perSecond}
}

// start anchors the slots to the run's time zero, unless a request already went.
func (l *requestLimiter) start(t0 time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.anchored {
		l.origin, l.anchored = l.monotonic(t0), true
	}
}

// setEnd makes every slot at or after end refused.
func (l *requestLimiter) setEnd(end time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.end = l.monotonic(end)
}

// monotonic gives a wall-clock instant a monotonic reading, so that waits and
// comparisons with time.Now ignore clock steps. Called with l.mu held.
func (l *requestLimiter) monotonic(t time.Time) time.Time {
	if l.ref.IsZero() {
		l.ref = time.Now()
	}
	return l.ref.Add(t.Sub(l.ref.Round(0)))
}

// offset is slot k's distance from origin.
func (l *requestLimiter) offset(k uint64) time.Duration {
	return time.Duration(math.Round(float64(k) * l.interval))
}

// reserve takes the next slot for a request wanting to go at now: the time
// it may start, or false when the slots have run out at the end.
func (l *requestLimiter) reserve(now time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.anchored {
		l.origin, l.anchored = now, true
	}
	slot := l.origin.Add(l.offset(l.next))
	if behind := now.Sub(slot); behind > catchUp && float64(behind) > l.interval {
		// Nobody wanted the slots for a while: skip the missed ones (no
		// burst), keeping the grid aligned so that the count can never pass
		// R × duration.
		l.next = uint64(math.Ceil(float64(now.Sub(l.origin)) / l.interval))
		slot = l.origin.Add(l.offset(l.next))
	}
	if !l.end.IsZero() && !slot.Before(l.end) {
		return time.Time{}, false
	}
	l.next++
	return slot, true
}

// wait blocks until the caller's slot. It returns ctx's error, or
// errLimitEnded once the VU is told to stop (stop closed) while waiting or
// when no slot is left; a VU that finds no slot left waits for its stop
// instead of spinning.
func (l *requestLimiter) wait(ctx context.Context, stop <-chan struct{}) error {
	slot, ok := l.reserve(time.Now())
	if !ok {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-stop:
			return errLimitEnded
		}
	}
	d := time.Until(slot)
	if d <= 0 {
		return nil
	}
	t := waitTimers.Get().(*time.Timer)
	t.Reset(d)
	defer func() {
		// Stopped, a timer's channel holds nothing (Go 1.23 timers), so the
		// next wait cannot see this one's expiry.
		t.Stop()
		waitTimers.Put(t)
	}()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return errLimitEnded
	}
}

// waitTimers are the limiter's stopped timers: at tens of thousands of
// waits a second, a timer made for each wait was half the limiter's cost.
var waitTimers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// setRate changes the cap of a limiter in use (a remote worker's share of the
// run's rps limit changes with the number of workers).
func (l *requestLimiter) setRate(perSecond float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.anchored {
		// The new grid starts where the old one had got to: slots already
		// handed out keep their times, the next one keeps its place.
		l.origin = l.origin.Add(l.offset(l.next))
		l.next = 0
	}
	l.interval = 1e9 / perSecond
}

// perSecond is the cap now in force.
func (l *requestLimiter) perSecond() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return 1e9 / l.interval
}

// monotonic gives a wall-clock instant a monotonic reading, so that waits and
// comparisons with time.Now ignore clock steps.
func monotonic(t time.Time) time.Time {
	now := time.Now()
	return now.Add(t.Sub(now.Round(0)))
}
