package worker

import (
	"time"

	"github.com/loadforge/loadforge/internal/arrival"
	"github.com/loadforge/loadforge/schemas"
)

// Moving an open model's arrivals between workers.
//
// When the workers change (one is lost), every survivor must switch to its
// new share at the same arrival, or arrivals would be sent twice or not at
// all. An assignment names an effective time E a little after it is made, so
// that every survivor hears it first; the switch point is the first arrival
// due at or after E, which each worker derives from the schedule alone. Before
// it a worker takes the arrivals of its old share, from it on those of its new
// one.

// reshareLead is how long after an assignment without an effective time its
// change applies to the arrivals.
const reshareLead = time.Duration(schemas.AssignmentLeadNs)

// shareSwitch is a change of share: from the first arrival due at or after at
// (an offset from t0), the worker takes the arrivals of share.
type shareSwitch struct {
	at    time.Duration
	share arrivalShare
}

// firstOf is the first arrival at or after from in share s.
func firstOf(s arrivalShare, from uint64) uint64 {
	j := from - from%s.of + s.index
	if j < from {
		j += s.of
	}
	return j
}

// advance is the arrival a worker takes next, and the share then in force,
// when under share cur its next arrival would be next: it applies, in order,
// the pending switches whose time has come by that arrival, and returns those
// still pending.
func advance(sched *arrival.Schedule, next uint64, cur arrivalShare, pending []shareSwitch) (uint64, arrivalShare, []shareSwitch) {
	for len(pending) > 0 {
		sw := pending[0]
		if off, ok := sched.At(next); ok && off < sw.at {
			break
		}
		// The switch point: the first arrival due at or after sw.at, the same
		// on every worker. A switch heard too late (the worker already sent
		// arrivals past that point) goes on after the last one it sent.
		from := sched.Count(sw.at)
		if next >= cur.of {
			from = max(from, next-cur.of+1)
		}
		next, cur, pending = firstOf(sw.share, from), sw.share, pending[1:]
	}
	return next, cur, pending
}

// reshareOpen passes the worker's new share to a running open model: its
// arrivals from the assignment's effective time on, and its part of the
// pool's cap at once.
func (w *Worker) reshareOpen(a *schemas.WorkerAssignment) {
	om := w.open.Load()
	if om == nil {
		return // not started: it takes the share in force when it starts
	}
	i, n := w.Segment()
	if n <= 0 {
		return
	}
	eff := a.EffectiveNs
	if eff <= 0 {
		eff = a.AtNs + int64(reshareLead)
	}
	sw := shareSwitch{at: time.Duration(eff - om.t0ns), share: arrivalShare{index: uint64(i), of: uint64(n)}}
	om.mu.Lock()
	defer om.mu.Unlock()
	om.switches = append(om.switches, sw)
	om.maxVUs = max(1, segmentOf(om.totalMaxVUs, i, n))
}
