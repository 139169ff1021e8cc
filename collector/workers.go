package collector

import (
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// Worker bookkeeping: which seqs each worker sent, its bye, its own counts.

type workerState struct {
	id, name string
	// Every seq in 1..contiguous was received; ahead holds received seqs past it.
	contiguous uint64
	ahead      map[uint64]struct{}
	final      bool // sent its last event
	bye        bool
	lastSeq    uint64 // from bye
	byeReqs    uint64 // the worker's own count, from bye
	byeErrs    uint64
	prints     map[uint64]uint64 // seq → fingerprint of the first event received
	conflicts  uint64            // events that differed from the first under their seq
	// held: events received ahead of a gap in the seqs, not counted yet (trust.go).
	held map[uint64]*schemas.MetricEvent
	// beyond: held events past the seq of the worker's bye, never counted.
	beyond, beyondRequests uint64
	requests               uint64 // as received
	errors                 uint64
	maxEnd                 int64 // latest EndNs received
	heartbeat              time.Time
	lost                   bool // the session dropped it for missing heartbeats
}

func (w *workerState) has(seq uint64) bool {
	if seq <= w.contiguous {
		return true
	}
	_, ok := w.ahead[seq]
	return ok
}

func (w *workerState) mark(seq uint64) {
	if seq != w.contiguous+1 {
		if w.ahead == nil {
			w.ahead = make(map[uint64]struct{})
		}
		w.ahead[seq] = struct{}{}
		return
	}
	w.contiguous++
	for len(w.ahead) > 0 {
		if _, ok := w.ahead[w.contiguous+1]; !ok {
			break
		}
		delete(w.ahead, w.contiguous+1)
		w.contiguous++
	}
}

// live: the worker may still send events for the seconds to come.
func (w *workerState) live() bool { return !w.bye && !w.final && !w.lost }

// complete: the worker said bye and every event it announced was received.
// Events held behind a gap (trust.go) count as in: they are counted at the end.
func (w *workerState) complete() bool { return w.bye && (w.contiguous >= w.lastSeq || w.covered()) }

func (a *aggregator) worker(id string) *workerState {
	w := a.workers[id]
	if w == nil {
		w = &workerState{id: id}
		a.workers[id] = w
	}
	return w
}

func (a *aggregator) handleBye(m *schemas.WorkerBye) {
	if m.RunID != a.cfg.runID || !schemas.ValidToken(m.WorkerID) {
		a.drop("bye", m.WorkerID)
		return
	}
	if !a.admits(m.WorkerID) {
		a.hold(m.WorkerID, "", m)
		return
	}
	var contiguous uint64
	if w := a.workers[m.WorkerID]; w != nil {
		contiguous = w.contiguous
	}
	if m.LastSeq > contiguous+maxSeqAhead {
		a.drop("bye with implausible last_seq", m.WorkerID)
		return
	}
	w := a.worker(m.WorkerID)
	w.bye, w.lastSeq, w.byeReqs, w.byeErrs = true, m.LastSeq, m.Requests, m.Errors
}
