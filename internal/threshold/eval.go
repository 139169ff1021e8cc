package threshold

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// Set evaluates a run's thresholds. The caller adds each metric event to the
// second of the run it counts in, and closes the seconds in order (1, 2, 3 …,
// none skipped); each close evaluates every threshold on the seconds closed so
// far. A Set is not safe for concurrent use and never looks at a clock.
//
// Semantics, per threshold:
//   - A whole-run threshold is evaluated on everything closed so far; its
//     verdict is that of the final evaluation (as in k6): a breach early in
//     the run that the rest of the run dilutes passes.
//   - "over W" evaluates on the last W seconds closed; "for D" counts a breach
//     only once it has been seen in every evaluation of D seconds in a row.
//     Either makes the verdict sticky: one failing evaluation fails the run.
//   - With no samples (no request, no check) durations and rates pass, with
//     value 0: nothing was observed that could breach them. Counts are counted.
//   - abort_on_fail: the first failing evaluation at or after
//     delay_abort_eval into the run aborts it; only the first such threshold
//     is marked aborted.
type Set struct {
	states  []*state
	closed  uint64  // the last second closed
	elapsed float64 // the seconds closed, in seconds of the run
	aborted string  // the abort reason, once a threshold asked to abort
	stopped bool    // the run is stopping: too late to abort it
}

// Stopping says the run is ending anyway: no threshold aborts it from now on,
// though each is still judged.
func (s *Set) Stopping() { s.stopped = true }

type state struct {
	t       Threshold
	pending map[uint64]*accum // seconds added to but not closed yet

	total   accum      // every closed second
	ring    []snapshot // the last window's seconds, by k % len(ring)
	scratch *hdrhistogram.Histogram

	breachFrom  uint64 // first second of the current breach; 0: none
	published   bool
	publishedOK bool // the verdict last published
	liveOK      bool
	failed      bool // sticky failure (windowed or persistent thresholds)
	value       float64
	worst       float64 // the value furthest beyond the bound (sticky thresholds)
	hasWorst    bool
	aborted     bool
}

// accum is one threshold's figures over some seconds.
type accum struct {
	n, m  uint64 // counts: samples, and of those the ones a rate counts
	hist  *hdrhistogram.Histogram
	pairs [][2]int64 // an open second's samples, before they go into hist
}

// snapshot is one closed second in a window.
type snapshot struct {
	k     uint64
	secs  float64 // the second's length: 1, or less for the run's last
	n, m  uint64
	pairs [][2]int64
}

// NewSet prepares the evaluation of ths.
func NewSet(ths []Threshold) *Set {
	s := &Set{}
	for _, t := range ths {
		st := &state{t: t, pending: map[uint64]*accum{}, liveOK: true}
		if w := int(t.Window / time.Second); w > 0 {
			st.ring = make([]snapshot, w)
		}
		s.states = append(s.states, st)
	}
	return s
}

// Len is the number of thresholds.
func (s *Set) Len() int { return len(s.states) }

// AbortReason names the threshold that asked to abort the run; "" if none did.
func (s *Set) AbortReason() string { return s.aborted }

// Add counts ev in second k of the run. A second already closed counts in the
// next open one.
func (s *Set) Add(k uint64, ev *schemas.MetricEvent) {
	k = max(k, s.closed+1)
	for _, st := range s.states {
		a := st.pending[k]
		if a == nil {
			a = &accum{}
			st.pending[k] = a
		}
		st.add(a, ev)
	}
}

func (st *state) add(a *accum, ev *schemas.MetricEvent) {
	t := &st.t
	switch t.Name {
	case DroppedIterations:
		a.n += ev.DroppedIterations
		return
	case IterationDuration:
		a.addPairs(ev.IterationDurationUs)
		return
	}
	for i := range ev.Endpoints {
		ep := &ev.Endpoints[i]
		if (t.Endpoint != "" && ep.Name != t.Endpoint) || (t.Method != "" && !strings.EqualFold(ep.Method, t.Method)) {
			continue
		}
		switch t.Name {
		case HTTPReqDuration:
			a.addPairs(ep.LatencyUs)
		case ServiceTime:
			if len(ep.ServiceTimeUs) > 0 {
				a.addPairs(ep.ServiceTimeUs)
			} else {
				a.addPairs(ep.LatencyUs) // a closed model: the same
			}
		case HTTPReqWaiting:
			a.addPairs(ep.WaitingUs)
		case HTTPReqConnecting:
			a.addPairs(ep.ConnectingUs)
		case HTTPReqTLSHandshaking:
			a.addPairs(ep.TLSHandshakingUs)
		case HTTPReqReceiving:
			a.addPairs(ep.ReceivingUs)
		case HTTPReqFailed:
			a.n += ep.Requests
			a.m += ep.Errors
		case Checks:
			for _, c := range ep.Checks {
				a.n += c.Passes + c.Fails
				a.m += c.Passes
			}
		case HTTPReqs:
			if t.Status != "" {
				a.n += ep.StatusCodes[t.Status]
			} else {
				a.n += ep.Requests
			}
		}
	}
}

// addPairs keeps an open second's histogram pairs as they come: cheaper
// than a histogram per second, and folded into one when the second closes.
func (a *accum) addPairs(pairs [][2]int64) {
	a.pairs = append(a.pairs, pairs...)
}

// merge folds o (an open second) into a.
func (a *accum) merge(o *accum) {
	a.n += o.n
	a.m += o.m
	if len(o.pairs) > 0 {
		if a.hist == nil {
			a.hist = latency.New()
		}
		latency.AddSparse(a.hist, o.pairs)
	}
}

// Close closes second k (the one after the last closed), of length secs (1,
// or less for the run's last, partial second), evaluates every threshold and
// returns the states whose verdict changed (the first evaluation always
// counts as a change). atNs stamps them.
func (s *Set) Close(k uint64, secs float64, atNs int64) []schemas.ThresholdState {
	if k <= s.closed {
		return nil
	}
	s.closed = k
	s.elapsed += secs
	var out []schemas.ThresholdState
	for _, st := range s.states {
		a := st.pending[k]
		delete(st.pending, k)
		if a == nil {
			a = &accum{}
		}
		st.total.merge(a)
		if st.ring != nil {
			snap := snapshot{k: k, secs: secs, n: a.n, m: a.m}
			snap.pairs = a.pairs
			st.ring[k%uint64(len(st.ring))] = snap
		}
		st.evaluate(k, s.elapsed)
		abort := false
		if st.t.AbortOnFail && !st.liveOK && s.aborted == "" && !s.stopped &&
			time.Duration(k)*time.Second >= st.t.DelayAbortEval {
			st.aborted, abort = true, true
			s.aborted = fmt.Sprintf("threshold %s %s failed (value %s)", st.t.Metric, st.t.Expression, st.t.Format(st.value))
		}
		if !st.published || st.liveOK != st.publishedOK || abort {
			st.published, st.publishedOK = true, st.liveOK
			out = append(out, st.message(atNs, st.liveOK, st.value, false))
		}
	}
	return out
}

// evaluate computes the threshold's value at second k (elapsed seconds of
// the run) and its live verdict.
func (st *state) evaluate(k uint64, elapsed float64) {
	t := &st.t
	var v float64
	var data bool
	if st.ring != nil {
		v, data = st.windowValue(k)
	} else {
		v, data = st.valueOf(&st.total, elapsed)
	}
	st.value = v
	if data && t.Sticky() && (!st.hasWorst || st.beyond(v, st.worst)) {
		st.worst, st.hasWorst = v, true
	}
	if !data || t.Check(v) {
		st.breachFrom = 0
		st.liveOK = true
		return
	}
	if st.breachFrom == 0 {
		st.breachFrom = k
	}
	// The breach seen at second k covers that whole second.
	lasted := time.Duration(k-st.breachFrom+1) * time.Second
	st.liveOK = t.For > 0 && lasted < t.For
	if !st.liveOK && t.Sticky() {
		st.failed = true
	}
}

// beyond reports whether v is further past the bound than w.
func (st *state) beyond(v, w float64) bool {
	switch st.t.Op {
	case "<", "<=":
		return v > w
	case ">", ">=":
		return v < w
	}
	return true // == and !=: the latest breach
}

// windowValue is the value over the last window of seconds closed by k.
func (st *state) windowValue(k uint64) (float64, bool) {
	var a accum
	secs := 0.0
	for _, snap := range st.ring {
		if snap.k == 0 || snap.k+uint64(len(st.ring)) <= k {
			continue // empty, or fallen out of the window
		}
		secs += snap.secs
		a.n += snap.n
		a.m += snap.m
		if len(snap.pairs) > 0 {
			if st.scratch == nil {
				st.scratch = latency.New()
			}
			if a.hist == nil {
				st.scratch.Reset()
				a.hist = st.scratch
			}
			latency.AddSparse(a.hist, snap.pairs)
		}
	}
	return st.valueOf(&a, secs)
}

// valueOf computes the threshold's aggregation over a, spanning seconds;
// false when a holds no sample to judge.
func (st *state) valueOf(a *accum, seconds float64) (float64, bool) {
	t := &st.t
	switch t.Agg {
	case AggCount:
		return float64(a.n), true
	case AggRate:
		if t.Name == HTTPReqs || t.Name == DroppedIterations {
			if seconds <= 0 {
				return 0, false
			}
			return float64(a.n) / seconds, true
		}
		if a.n == 0 {
			return 0, false
		}
		return float64(a.m) / float64(a.n), true
	}
	h := a.hist
	if h == nil || h.TotalCount() == 0 {
		return 0, false
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	switch t.Agg {
	case AggAvg:
		return h.Mean() / 1000, true
	case AggMin:
		return ms(h.Min()), true
	case AggMax:
		return ms(h.Max()), true
	case AggMed:
		return ms(h.ValueAtQuantile(50)), true
	case AggP:
		return ms(h.ValueAtQuantile(t.Percentile)), true
	}
	return 0, false
}

func (st *state) message(atNs int64, ok bool, v float64, final bool) schemas.ThresholdState {
	return schemas.ThresholdState{
		SchemaVersion: schemas.Version,
		AtNs:          atNs,
		Metric:        st.t.Metric,
		Expression:    st.t.Expression,
		OK:            ok,
		Value:         round(v),
		AbortOnFail:   st.t.AbortOnFail,
		Aborted:       st.aborted,
		Final:         final,
	}
}

// Final gives every threshold's verdict at the end of the run, which lasted
// durationS seconds: one final state (Final set) and one result each, in the
// order the thresholds were given. Call it after the last Close.
func (s *Set) Final(durationS float64, atNs int64) ([]schemas.ThresholdState, []schemas.ThresholdResult) {
	states := make([]schemas.ThresholdState, 0, len(s.states))
	results := make([]schemas.ThresholdResult, 0, len(s.states))
	for _, st := range s.states {
		// Whatever an open second still holds (nothing, after the last Close) counts too.
		for k, a := range st.pending {
			st.total.merge(a)
			delete(st.pending, k)
		}
		ok, v := st.verdict(durationS)
		states = append(states, st.message(atNs, ok, v, true))
		results = append(results, schemas.ThresholdResult{
			Metric: st.t.Metric, Expression: st.t.Expression, OK: ok, Value: round(v),
			AbortOnFail: st.t.AbortOnFail, Aborted: st.aborted,
		})
	}
	return states, results
}

// verdict is the final pass or fail and the value to show with it.
func (st *state) verdict(durationS float64) (bool, float64) {
	if st.t.Sticky() {
		// The value shown is the worst the threshold saw: past its bound
		// when it failed, the closest it came when it did not.
		v := st.value
		if st.hasWorst {
			v = st.worst
		}
		return !st.failed && !st.aborted, v
	}
	v, data := st.valueOf(&st.total, durationS)
	ok := !data || st.t.Check(v)
	return ok && !st.aborted, v
}

// Format shows a value of the threshold's metric for people.
func (t *Threshold) Format(v float64) string {
	switch {
	case t.Duration():
		return fmt.Sprintf("%.2fms", v)
	case t.Agg == AggCount:
		return fmt.Sprintf("%.0f", v)
	case t.Agg == AggRate && (t.Name == HTTPReqs || t.Name == DroppedIterations):
		return fmt.Sprintf("%.2f/s", v)
	default:
		return fmt.Sprintf("%.4f", v)
	}
}

// round keeps 6 decimals: enough for ms and rates, and stable in JSON.
func round(v float64) float64 {
	return math.Round(v*1e6) / 1e6
}
