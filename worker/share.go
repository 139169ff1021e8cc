package worker

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

// Defaults of the remote worker's timeouts.
const (
	DefaultJoinTimeout        = 5 * time.Second
	DefaultCoordinatorTimeout = 5 * time.Second
)

// Why a remote worker's Run ended without carrying the run to its end.
var (
	ErrNotAdmitted     = errors.New("not admitted to the run")
	ErrDropped         = errors.New("dropped from the run by the coordinator")
	ErrCoordinatorLost = errors.New("the coordinator went silent")
)

// share is the part of the load this worker carries: segment index of count.
// A local worker carries segment 0 of 1; a remote worker carries nothing until
// an assignment admits it.
//
// Every part of the plan is split the same way, so the segments add up to the
// plan exactly: VUs as total/count, plus one for the first total%count
// segments; the rps limit as limit/count. An open model's arrivals can take
// the same segment (Segment).
type share struct {
	// idx and cnt are read by VU goroutines (through Segment) while the Run
	// loop changes them.
	idx, cnt atomic.Int64
}

func (s *share) init(remote bool) {
	if !remote {
		s.cnt.Store(1)
	}
}

func (s *share) index() int { return int(s.idx.Load()) }
func (s *share) count() int { return int(s.cnt.Load()) }

// of is this segment's part of total VUs.
func (s *share) of(total int) int {
	return segmentOf(total, s.index(), s.count())
}

// segmentOf is segment i of n of total: total/n, plus one for i < total%n.
func segmentOf(total, i, n int) int {
	if n <= 0 || i < 0 || i >= n {
		return 0
	}
	part := total / n
	if i < total%n {
		part++
	}
	return part
}

// Segment is the part of the plan this worker carries: segment index of
// count (0 of 1 for a worker alone; count 0 for a remote worker not yet
// admitted). It is safe to call from any goroutine.
func (w *Worker) Segment() (index, count int) {
	return w.share.index(), w.share.count()
}

// What an assignment means to a remote worker.
type assignment int

const (
	unchanged assignment = iota // a repeat, or nothing that concerns us
	admitted                    // we are in for the first time
	reshared                    // our segment changed
	dropped                     // we were in, and are no more
	refused                     // the run is full without us
)

// remoteState is the Run loop's view of the assignments. Its methods work on
// a nil receiver (a local worker): no channels, always admitted.
type remoteState struct {
	sub       *bus.Subscription
	ch        chan *schemas.WorkerAssignment
	quit      chan struct{}
	join      *time.Timer
	tick      *time.Ticker
	seq       uint64
	in        bool // admitted; it stays set once dropped, so the worker still finishes
	out       bool // dropped: nothing brings it back
	lastHeard time.Time
	everHeard bool
}

// subscribeAssign subscribes to the run's assignments before the worker asks to join.
func (w *Worker) subscribeAssign() (*remoteState, error) {
	r := &remoteState{ch: make(chan *schemas.WorkerAssignment, 8), quit: w.quit}
	sub, err := bus.Subscribe(w.conn, schemas.Subject(w.cfg.RunID, schemas.KindAssign),
		func(_ string, m *schemas.WorkerAssignment) {
			select {
			case r.ch <- m:
			case <-r.quit:
			}
		})
	if err != nil {
		return nil, err
	}
	r.sub = sub
	r.join = time.NewTimer(w.cfg.JoinTimeout)
	r.tick = time.NewTicker(min(time.Second, w.cfg.CoordinatorTimeout/4))
	return r, nil
}

func (r *remoteState) close() {
	_ = r.sub.Unsubscribe()
	r.join.Stop()
	r.tick.Stop()
}

func (r *remoteState) assignments() <-chan *schemas.WorkerAssignment {
	if r == nil {
		return nil
	}
	return r.ch
}

func (r *remoteState) joinExpired() <-chan time.Time {
	if r == nil || r.in {
		return nil
	}
	return r.join.C
}

func (r *remoteState) watchdog() <-chan time.Time {
	if r == nil || !r.in || r.out {
		return nil
	}
	return r.tick.C
}

// isAdmitted reports whether the worker is (or was, until dropped) one of the run's workers.
func (r *remoteState) isAdmitted() bool { return r == nil || r.in }

// coordinatorSilent reports whether no assignment came for longer than limit.
func (r *remoteState) coordinatorSilent(limit time.Duration) bool {
	return time.Since(r.lastHeard) > limit
}

// apply takes one assignment: it moves the worker's segment and says what changed.
func (r *remoteState) apply(a *schemas.WorkerAssignment, w *Worker) assignment {
	if r.out || a.RunID != w.cfg.RunID || (r.everHeard && a.Seq < r.seq) {
		return unchanged
	}
	r.lastHeard, r.everHeard = time.Now(), true
	if a.Seq == r.seq && r.in {
		return unchanged // the coordinator's heartbeat
	}
	r.seq = a.Seq
	i := slices.Index(a.Workers, w.cfg.WorkerID)
	if i < 0 {
		switch {
		case r.in:
			r.out = true
			w.share.cnt.Store(0)
			return dropped
		case a.Wanted > 0 && len(a.Workers) >= a.Wanted:
			return refused
		}
		return unchanged
	}
	n := len(a.Workers)
	was, wasN := w.share.index(), w.share.count()
	w.share.idx.Store(int64(i))
	w.share.cnt.Store(int64(n))
	if w.limiter != nil {
		w.limiter.setRate(w.cfg.Spec.RPSLimit / float64(n))
	}
	if !r.in {
		r.in = true
		return admitted
	}
	if i != was || n != wasN {
		return reshared
	}
	return unchanged
}

// String names an assignment's meaning in logs and test failures.
func (a assignment) String() string {
	names := [...]string{"unchanged", "admitted", "reshared", "dropped", "refused"}
	if int(a) < len(names) {
		return names[a]
	}
	return fmt.Sprintf("assignment(%d)", int(a))
}
