package exporter

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// noStatus is the status label of requests that got no response (refused,
// timed out, reset …): with it the status series of an endpoint add up to its
// requests.
const noStatus = "none"

// runState is what the exporter knows of one run, summed over its workers.
type runState struct {
	id         string
	state      string    // the last SessionState seen ("" before any)
	endedAt    time.Time // when a final state arrived (exporter's clock); zero while running
	iterations uint64
	dropped    uint64
	workers    map[string]*workerState
	endpoints  map[epKey]*endpointState
	thresholds map[thresholdKey]schemas.ThresholdState
}

type workerState struct {
	seqs    seqSet
	lastSeq uint64 // the highest seq taken: its VUs are the worker's VUs now
	vus     int
	gone    bool // final event seen, or lost: its VUs no longer count
}

type epKey struct{ name, method string }

type thresholdKey struct{ metric, expression string }

type endpointState struct {
	status   map[string]uint64
	kinds    map[string]uint64
	bytesIn  uint64
	bytesOut uint64
	// hist holds per-bucket (not cumulative) counts of latency: index i counts
	// values ≤ bounds[i] and above bounds[i-1]; the last index the rest (+Inf).
	hist   []uint64
	count  uint64
	sumSec float64
	checks map[string]*checkState
}

type checkState struct{ passes, fails uint64 }

func newRun(id string) *runState {
	return &runState{
		id:         id,
		workers:    map[string]*workerState{},
		endpoints:  map[epKey]*endpointState{},
		thresholds: map[thresholdKey]schemas.ThresholdState{},
	}
}

func (r *runState) worker(id string) *workerState {
	w := r.workers[id]
	if w == nil {
		w = &workerState{}
		r.workers[id] = w
	}
	return w
}

// addEvent folds one metric event in. It reports false for a (worker, seq)
// already taken: a redelivered event must not count twice.
func (r *runState) addEvent(ev *schemas.MetricEvent, bounds []float64) bool {
	w := r.worker(ev.WorkerID)
	if !w.seqs.add(ev.Seq) {
		return false
	}
	if ev.Seq > w.lastSeq {
		w.lastSeq, w.vus = ev.Seq, ev.VUs
	}
	if ev.Final {
		w.gone = true
	}
	r.iterations += ev.Iterations
	r.dropped += ev.DroppedIterations
	for i := range ev.Endpoints {
		m := &ev.Endpoints[i]
		k := epKey{label(m.Name), label(m.Method)}
		e := r.endpoints[k]
		if e == nil {
			e = &endpointState{
				status: map[string]uint64{}, kinds: map[string]uint64{},
				hist: make([]uint64, len(bounds)+1), checks: map[string]*checkState{},
			}
			r.endpoints[k] = e
		}
		e.add(m, bounds)
	}
	return true
}

func (e *endpointState) add(m *schemas.EndpointMetrics, bounds []float64) {
	var answered uint64
	for code, n := range m.StatusCodes {
		if _, err := strconv.Atoi(code); err != nil || n == 0 {
			continue
		}
		e.status[code] += n
		answered += n
	}
	if m.Requests > answered {
		e.status[noStatus] += m.Requests - answered
	}
	for kind, n := range m.ErrorsByKind {
		if n != 0 {
			e.kinds[label(kind)] += n
		}
	}
	e.bytesIn += m.BytesIn
	e.bytesOut += m.BytesOut
	// A sparse pair is an HDR bucket's lowest value and its count; it falls in
	// the first fixed bucket at or above that value. HDR buckets are 0.1 % wide
	// (3 significant digits), so a value can land one fixed bucket low only
	// when it lies within 0.1 % above a bound.
	for _, p := range m.LatencyUs {
		v, n := p[0], p[1]
		if n <= 0 || v < 0 {
			continue
		}
		sec := float64(v) / 1e6
		i := sort.SearchFloat64s(bounds, sec)
		e.hist[i] += uint64(n)
		e.count += uint64(n)
		e.sumSec += sec * float64(n)
	}
	for _, c := range m.Checks {
		name := label(c.Name)
		cs := e.checks[name]
		if cs == nil {
			cs = &checkState{}
			e.checks[name] = cs
		}
		cs.passes += c.Passes
		cs.fails += c.Fails
	}
}

// label makes s a valid label value: Prometheus takes only UTF-8, and a
// message's strings are whatever its sender put there.
func label(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}

// vus is the VUs running now over the workers still in the run.
func (r *runState) vus() int {
	n := 0
	for _, w := range r.workers {
		if !w.gone {
			n += w.vus
		}
	}
	return n
}

// ended reports whether the run reached a final state.
func ended(state string) bool {
	switch state {
	case schemas.StateCompleted, schemas.StateInterrupted, schemas.StateAborted:
		return true
	}
	return false
}

// seqSet remembers which sequence numbers of one worker were taken: every
// number up to upTo, and those above it in above (events that came early).
// Workers number their events 1, 2, 3 … without gaps, so above stays small.
type seqSet struct {
	upTo  uint64
	above map[uint64]struct{}
}

// add takes seq and reports whether it was new.
func (s *seqSet) add(seq uint64) bool {
	if seq == 0 || seq <= s.upTo {
		return false
	}
	if _, dup := s.above[seq]; dup {
		return false
	}
	if seq != s.upTo+1 {
		if s.above == nil {
			s.above = map[uint64]struct{}{}
		}
		s.above[seq] = struct{}{}
		return true
	}
	s.upTo = seq
	for {
		if _, ok := s.above[s.upTo+1]; !ok {
			return true
		}
		delete(s.above, s.upTo+1)
		s.upTo++
	}
}
