package collector

import (
	"cmp"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/internal/threshold"
	"github.com/loadforge/loadforge/schemas"
)

// Limits that tell garbage from data. They are far beyond anything a real
// worker sends, and keep a hostile or broken publisher from exhausting memory.
const (
	// maxSeqAhead: an event this far past a worker's last gap-free seq is not believed.
	maxSeqAhead = 1 << 20
	// maxFutureSkew: an event may end at most this far past the collector's clock.
	// It bounds how many seconds can be open at once.
	maxFutureSkew = time.Minute
	// maxCount bounds every count of one event (requests, bytes, histogram counts).
	maxCount = 1 << 40
	// maxVUs bounds an event's VU count.
	maxVUs = 1 << 30
	// maxEndpoints bounds the distinct endpoints kept apart; more are merged
	// into one named otherEndpoint, so totals still add up.
	maxEndpoints  = 1000
	otherEndpoint = "(other endpoints)"
	// maxBuffered bounds the events held while the run's time zero is unknown.
	maxBuffered = 1 << 16
	// maxGracefulStop bounds the graceful stop a state message may ask for.
	maxGracefulStop = 24 * time.Hour
	// maxT0Age: the run's time zero comes from the session as the run starts;
	// one far older would make the collector publish ages of empty seconds.
	maxT0Age = time.Hour
)

// plausibleT0 reports whether t0 can be the time zero of a run starting about now.
func plausibleT0(t0 int64, now time.Time) bool {
	return t0 > 0 && t0 >= now.Add(-maxT0Age).UnixNano() && t0 <= now.Add(maxFutureSkew).UnixNano()
}

const second = int64(time.Second)

type aggregatorConfig struct {
	runID         string
	snapshotGrace time.Duration
	finalizeGrace time.Duration
	log           *slog.Logger
	emit          func(*schemas.Snapshot) // publishes one snapshot
	thresholds    []threshold.Threshold
	emitThreshold func(*schemas.ThresholdState) // publishes one threshold state
	// workers, if any, are the only workers believed; with roster, workers are
	// admitted by the session's assignments (see trust.go).
	workers []string
	roster  bool
}

// aggregator is the collector's whole state. It is driven by one goroutine and
// takes the time as an argument, so it runs the same on and off the bus.
type aggregator struct {
	cfg           aggregatorConfig
	metricsPrefix string // loadforge.<run>.metrics.

	t0       int64                  // the run's time zero, Unix ns; 0 until the running state
	buffered []*schemas.MetricEvent // events that came before t0 was known

	workers map[string]*workerState
	adm     admission // whom to believe (trust.go)

	// Seconds of the run: nextSeq is the oldest not yet published; buckets
	// holds the seconds from nextSeq on that have data.
	nextSeq uint64
	buckets map[uint64]*bucket
	maxK    uint64 // the latest second any event ended in
	maxEnd  int64  // the latest EndNs of any folded event

	totals counters
	iters  uint64
	// checkTotals sums every check result of the run; nil until one comes.
	checkTotals *schemas.CheckTotals
	totalHist   *hdrhistogram.Histogram // merged from the published seconds
	codes       map[string]uint64
	kinds       map[string]uint64
	endpoints   map[endpointKey]*endpointAgg
	timeline    []schemas.TimelineRow
	schedule    schedule // the open model's schedule lag and warnings

	stopping   bool
	stoppedAt  int64 // Unix ns of the first stopping state (the session's clock)
	lastDone   int64 // Unix ns: the latest request completion any worker reported
	outcome    string
	finalizeBy time.Time

	malformed  uint64 // decodable but meaningless messages
	duplicates uint64
	notSent    map[string]uint64 // by cause: requests the generators could not attempt (notsent.go)

	spare   []*hdrhistogram.Histogram // emptied bucket histograms, for reuse
	scratch *hdrhistogram.Histogram   // see scratchHist
	// sparePairs are emptied latency pair slices of published seconds, for reuse.
	sparePairs [][][2]int64

	verdicts   *threshold.Set // evaluates the thresholds as each second is published
	stopReason string         // why the session stopped the run
}

// counters are the additive figures of a second, an endpoint or the run.
type counters struct {
	requests, errors, bytesIn, bytesOut, dropped uint64
	retries                                      uint64
}

type bucket struct {
	counters
	hist *hdrhistogram.Histogram // nil until a latency arrives
	// vus holds, per worker, the VUs of its latest event ending in this second.
	vus map[string]vuMark
	// shares breaks the second down by endpoint (timeline.go).
	shares map[*endpointAgg]*share
	// checksPasses and checksFails count the second's check results.
	checksPasses, checksFails uint64
}

type vuMark struct {
	endNs int64
	vus   int
}

type endpointKey struct{ name, method, url string }

type endpointAgg struct {
	key   endpointKey
	c     counters
	hist  *hdrhistogram.Histogram
	codes map[string]uint64
	kinds map[string]uint64

	client string // the HTTP client the workers named; the first one seen
	extra  extras // service time and timing breakdown
	checks checkList

	errHist *hdrhistogram.Histogram // the failed requests' part of hist; nil: none
	proto   protocols
}

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

func newAggregator(cfg aggregatorConfig) *aggregator {
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	if cfg.emit == nil {
		cfg.emit = func(*schemas.Snapshot) {}
	}
	if cfg.emitThreshold == nil {
		cfg.emitThreshold = func(*schemas.ThresholdState) {}
	}
	return &aggregator{
		verdicts:      threshold.NewSet(cfg.thresholds),
		cfg:           cfg,
		metricsPrefix: schemas.Subject(cfg.runID, schemas.KindMetrics) + ".",
		workers:       make(map[string]*workerState),
		adm:           newAdmission(cfg.workers, cfg.roster),
		nextSeq:       1,
		buckets:       make(map[uint64]*bucket),
		totalHist:     latency.New(),
		codes:         make(map[string]uint64),
		kinds:         make(map[string]uint64),
		endpoints:     make(map[endpointKey]*endpointAgg),
		outcome:       schemas.StateCompleted,
	}
}

// handle takes one decoded message received on subject at now.
func (a *aggregator) handle(subject string, body any, now time.Time) {
	switch m := body.(type) {
	case *schemas.MetricEvent:
		a.handleEvent(subject, m, now)
	case *schemas.SessionState:
		a.handleState(m, now)
	case *schemas.WorkerHello:
		if m.RunID != a.cfg.runID || !schemas.ValidToken(m.WorkerID) {
			a.drop("hello", m.WorkerID)
			return
		}
		if !a.admits(m.WorkerID) {
			a.hold(m.WorkerID, "", m)
			return
		}
		w := a.worker(m.WorkerID)
		if m.Name != "" {
			w.name = m.Name
		}
	case *schemas.WorkerHeartbeat:
		if m.RunID != a.cfg.runID || !schemas.ValidToken(m.WorkerID) {
			a.drop("heartbeat", m.WorkerID)
			return
		}
		if w := a.workers[m.WorkerID]; w != nil {
			w.heartbeat = now
		}
	case *schemas.WorkerBye:
		a.handleBye(m)
	case *schemas.WorkerAssignment:
		a.handleAssignment(m, now)
	default:
		a.drop("unexpected message", "")
	}
}

func (a *aggregator) drop(what, workerID string) {
	a.malformed++
	a.cfg.log.Debug("dropped malformed message", "what", what, "worker_id", workerID)
}

func (a *aggregator) worker(id string) *workerState {
	w := a.workers[id]
	if w == nil {
		w = &workerState{id: id}
		a.workers[id] = w
	}
	return w
}

func (a *aggregator) handleState(m *schemas.SessionState, now time.Time) {
	if m.RunID != a.cfg.runID {
		a.drop("state", "")
		return
	}
	switch m.State {
	case schemas.StateRunning:
		if !plausibleT0(m.StartedAtNs, now) {
			a.drop("state running without a plausible started_at_ns", "")
			return
		}
		if a.t0 != 0 {
			if m.StartedAtNs != a.t0 {
				a.cfg.log.Warn("ignoring a second time zero", "t0_ns", a.t0, "started_at_ns", m.StartedAtNs)
			}
			return
		}
		a.setT0(m.StartedAtNs, now)
	case schemas.StateStopping:
		if a.stoppedAt == 0 {
			a.stoppedAt = m.AtNs
			a.stopReason = m.Reason
		}
		a.stop(now, time.Duration(m.GracefulStopNs), m.Outcome)
	case schemas.StateCompleted, schemas.StateInterrupted, schemas.StateAborted:
		// The session ended the run without us: finish without waiting for the graceful stop.
		a.stop(now, 0, m.State)
	}
}

func (a *aggregator) setT0(t0 int64, now time.Time) {
	a.t0 = t0
	buffered := a.buffered
	a.buffered = nil
	for _, ev := range buffered {
		a.fold(ev, a.workers[ev.WorkerID], now)
	}
}

func (a *aggregator) stop(now time.Time, gracefulStop time.Duration, outcome string) {
	gracefulStop = min(max(gracefulStop, 0), maxGracefulStop)
	by := now.Add(gracefulStop + a.cfg.finalizeGrace)
	// A later, harder stop may only bring the end closer.
	if !a.stopping || by.Before(a.finalizeBy) {
		a.finalizeBy = by
	}
	a.stopping = true
	switch outcome {
	case schemas.StateCompleted, schemas.StateInterrupted, schemas.StateAborted:
		a.outcome = outcome
	}
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

// plausible reports whether the figures of ev can be real.
func plausible(ev *schemas.MetricEvent) bool {
	if ev.VUs < 0 || ev.VUs > maxVUs || ev.Iterations > maxCount || ev.DroppedIterations > maxCount ||
		!plausiblePairs(ev.ScheduleLagUs) {
		return false
	}
	for i := range ev.Endpoints {
		ep := &ev.Endpoints[i]
		if ep.Requests > maxCount || ep.Errors > maxCount || ep.BytesIn > maxCount || ep.BytesOut > maxCount || ep.Retries > ep.Requests {
			return false
		}
		if !plausiblePairs(ep.LatencyUs) || !plausibleExtras(ep) || !plausibleChecks(ep) {
			return false
		}
		for _, n := range ep.StatusCodes {
			if n > maxCount {
				return false
			}
		}
		for _, n := range ep.ErrorsByKind {
			if n > maxCount {
				return false
			}
		}
	}
	return true
}

func (a *aggregator) handleEvent(subject string, ev *schemas.MetricEvent, now time.Time) {
	if ev.RunID != a.cfg.runID || !schemas.ValidToken(ev.WorkerID) || ev.Seq == 0 ||
		!strings.HasPrefix(subject, a.metricsPrefix) || subject[len(a.metricsPrefix):] != ev.WorkerID ||
		!plausible(ev) {
		a.drop("metric event", ev.WorkerID)
		return
	}
	if !a.admits(ev.WorkerID) {
		a.hold(ev.WorkerID, subject, ev)
		return
	}
	var contiguous uint64
	w := a.workers[ev.WorkerID]
	if w != nil {
		contiguous = w.contiguous
	}
	if ev.Seq > contiguous+maxSeqAhead {
		a.drop("metric event with implausible seq", ev.WorkerID)
		return
	}
	if w == nil {
		w = a.worker(ev.WorkerID) // a worker whose hello we missed still counts
	}
	a.sequence(w, ev, now)
}

// accept counts a worker's event in: its seq as received, then its figures.
func (a *aggregator) accept(w *workerState, ev *schemas.MetricEvent, now time.Time) {
	// The seq counts as received even if the event proves unusable below:
	// waiting for it again would only delay the end.
	w.mark(ev.Seq)
	a.remember(w, ev)
	if ev.Final {
		w.final = true
	}
	if a.t0 == 0 {
		if len(a.buffered) >= maxBuffered {
			a.drop("metric event before the run started, buffer full", w.id)
			return
		}
		a.buffered = append(a.buffered, ev)
		return
	}
	a.fold(ev, w, now)
}

// secondOf is the second k of the run with end in (t0+(k-1)s, t0+k s]; end > t0.
func (a *aggregator) secondOf(end int64) uint64 {
	return uint64((end - a.t0 + second - 1) / second)
}

// fold adds an accepted event to its second, its endpoints and its worker.
func (a *aggregator) fold(ev *schemas.MetricEvent, w *workerState, now time.Time) {
	if ev.EndNs <= a.t0 || ev.EndNs > now.Add(maxFutureSkew).UnixNano() {
		a.drop("metric event outside the run", w.id)
		return
	}
	k := a.secondOf(ev.EndNs)
	late := k < a.nextSeq
	if late {
		// Its second was published: count it in the oldest open one so that
		// the snapshots still add up to the totals.
		k = a.nextSeq
	}
	b := a.buckets[k]
	if b == nil {
		b = &bucket{vus: make(map[string]vuMark)}
		a.buckets[k] = b
	}
	if !late {
		a.maxK = max(a.maxK, k)
		if prev, ok := b.vus[w.id]; !ok || ev.EndNs >= prev.endNs {
			b.vus[w.id] = vuMark{ev.EndNs, ev.VUs}
		}
	}
	w.maxEnd = max(w.maxEnd, ev.EndNs)
	a.maxEnd = max(a.maxEnd, ev.EndNs)
	for i := range ev.Endpoints {
		// Bounded by the event: a wild value cannot stretch the run.
		if d := ev.Endpoints[i].LastDoneNs; d > ev.StartNs && d <= ev.EndNs {
			a.lastDone = max(a.lastDone, d)
		}
	}

	a.verdicts.Add(k, ev)
	b.dropped += ev.DroppedIterations
	a.totals.dropped += ev.DroppedIterations
	a.addNotSent(w.id, ev.NotSent)
	a.schedule.add(ev, a.t0, a.cfg.log.Warn)
	a.iters += ev.Iterations
	for i := range ev.Endpoints {
		ep := &ev.Endpoints[i]
		c := counters{requests: ep.Requests, errors: ep.Errors, bytesIn: ep.BytesIn, bytesOut: ep.BytesOut, retries: ep.Retries}
		b.add(c)
		a.totals.add(c)
		w.requests += ep.Requests
		w.errors += ep.Errors
		e := a.endpoint(endpointKey{ep.Name, ep.Method, ep.URL})
		e.c.add(c)
		if e.client == "" {
			e.client = ep.HTTPClient
		}
		e.proto.add(ep)
		if len(ep.LatencyUs) > 0 {
			if b.hist == nil {
				b.hist = a.newHist()
			}
			latency.AddSparse(b.hist, ep.LatencyUs)
		}
		a.addShare(b, e, c, ep.LatencyUs) // e.hist takes the latencies when b is published
		e.extra.add(ep)
		a.foldChecks(b, e, ep)
		addPairs(&e.errHist, ep.ErrorLatencyUs, latency.New)
		for code, n := range ep.StatusCodes {
			e.codes[code] += n
			a.codes[code] += n
		}
		for kind, n := range ep.ErrorsByKind {
			e.kinds[kind] += n
			a.kinds[kind] += n
		}
	}
}

func (c *counters) add(o counters) {
	c.requests += o.requests
	c.retries += o.retries
	c.errors += o.errors
	c.bytesIn += o.bytesIn
	c.bytesOut += o.bytesOut
	c.dropped += o.dropped
}

func (a *aggregator) endpoint(key endpointKey) *endpointAgg {
	e := a.endpoints[key]
	if e != nil {
		return e
	}
	if len(a.endpoints) >= maxEndpoints {
		key = endpointKey{name: otherEndpoint}
		if e = a.endpoints[key]; e != nil {
			return e
		}
		a.cfg.log.Warn("too many endpoints; merging the rest", "limit", maxEndpoints, "into", otherEndpoint)
	}
	e = &endpointAgg{key: key, codes: make(map[string]uint64), kinds: make(map[string]uint64)}
	a.endpoints[key] = e
	return e
}

func (a *aggregator) newHist() *hdrhistogram.Histogram {
	if n := len(a.spare); n > 0 {
		h := a.spare[n-1]
		a.spare = a.spare[:n-1]
		return h
	}
	return latency.New()
}

// secondReady reports whether second k may be published before the run ends.
func (a *aggregator) secondReady(k uint64, now time.Time) bool {
	// Once stopping, the latest second with data waits for the end: it may be
	// the run's last, partial second, and the last snapshot must be final.
	if a.stopping && a.maxK <= k {
		return false
	}
	end := a.t0 + int64(k)*second
	if now.UnixNano() >= end+int64(a.cfg.snapshotGrace) {
		return true
	}
	live := 0
	for _, w := range a.workers {
		if !w.live() {
			continue
		}
		if w.maxEnd < end {
			return false
		}
		live++
	}
	return live > 0
}

// publishReady publishes, in order, every second that is ready.
func (a *aggregator) publishReady(now time.Time) {
	if a.t0 == 0 {
		return
	}
	for a.secondReady(a.nextSeq, now) {
		a.publishSecond(time.Second, false, true)
	}
}

// nextWake is when the oldest open second's grace runs out, or the finalise
// deadline, whichever is sooner; false if neither is pending.
func (a *aggregator) nextWake() (time.Time, bool) {
	var wake time.Time
	if a.t0 != 0 && !(a.stopping && a.maxK <= a.nextSeq) {
		wake = time.Unix(0, a.t0+int64(a.nextSeq)*second).Add(a.cfg.snapshotGrace)
	}
	if a.stopping && (wake.IsZero() || a.finalizeBy.Before(wake)) {
		wake = a.finalizeBy
	}
	return wake, !wake.IsZero()
}

// done reports whether it is time to finalise: stopping was seen and every
// worker's events are in, or the wait for them is over.
func (a *aggregator) done(now time.Time) bool {
	if !a.stopping {
		return false
	}
	if !now.Before(a.finalizeBy) {
		return true
	}
	for _, w := range a.workers {
		if !w.complete() && !w.lost {
			return false
		}
	}
	return true
}

// publishSecond publishes second nextSeq, of the given length, and moves on.
// Without row it is left out of the timeline (a final marker past the run's end).
func (a *aggregator) publishSecond(length time.Duration, final, row bool) {
	k := a.nextSeq
	b := a.buckets[k]
	delete(a.buckets, k)
	a.nextSeq++
	if b == nil {
		b = &bucket{}
	}
	var sum schemas.LatencyMs
	var more schemas.LatencyMoreMs
	if b.hist != nil {
		sum, more = latency.Summary(b.hist), latency.More(b.hist)
		a.totalHist.Merge(b.hist)
		b.hist.Reset()
		a.spare = append(a.spare, b.hist)
	}
	vus := 0
	for _, m := range b.vus {
		vus += m.vus
	}
	rps := float64(b.requests) / length.Seconds()
	s := &schemas.Snapshot{
		SchemaVersion:     schemas.Version,
		RunID:             a.cfg.runID,
		Seq:               k,
		TS:                float64(k),
		VUs:               vus,
		Requests:          b.requests,
		Errors:            b.errors,
		BytesIn:           b.bytesIn,
		BytesOut:          b.bytesOut,
		DroppedIterations: b.dropped,
		RPS:               rps,
		LatencyMs:         sum,
		ChecksPasses:      b.checksPasses,
		ChecksFails:       b.checksFails,
		Final:             final,
	}
	eps := a.publishShares(b)
	if row {
		a.timeline = append(a.timeline, schemas.TimelineRow{
			TS: s.TS, VUs: vus, Requests: b.requests, Errors: b.errors,
			DroppedIterations: b.dropped, RPS: rps, LatencyMs: sum,
			Endpoints: eps, BytesIn: b.bytesIn, BytesOut: b.bytesOut,
			LatencyMoreMs: more, CumP50Ms: latency.Median(a.totalHist),
		})
	}
	a.cfg.emit(s)
	if row {
		a.evaluate(k, length)
	}
}

// finalize publishes every remaining second, the last one final, and returns
// the result. state overrides the outcome announced by the session when set.
//
// The run ends at the latest EndNs of any event, or at now if none came.
// If the run's time zero never came, it is taken from the earliest event
// start, or now.
func (a *aggregator) finalize(now time.Time, state string) *schemas.Result {
	a.releaseHeld(now)
	if a.t0 == 0 {
		t0 := now.UnixNano()
		for _, ev := range a.buffered {
			if ev.StartNs < ev.EndNs && plausibleT0(ev.StartNs, now) {
				t0 = min(t0, ev.StartNs)
			}
		}
		a.cfg.log.Info("the run's time zero never came; inferring it", "t0_ns", t0)
		a.setT0(t0, now)
	}
	end := a.maxEnd
	if end == 0 {
		end = max(now.UnixNano(), a.t0)
	}
	lastSecond := a.secondOf(end) // 0 when end == t0
	top := max(lastSecond, a.nextSeq-1)
	for k := range a.buckets {
		top = max(top, k) // a late event can sit past the last second
	}
	if top < a.nextSeq {
		// Every second is out already; consumers still get a final snapshot.
		a.publishSecond(time.Second, true, false)
	}
	for a.nextSeq <= top {
		length := time.Second
		if a.nextSeq == lastSecond {
			length = time.Duration(end - a.t0 - int64(lastSecond-1)*second)
		}
		a.publishSecond(length, a.nextSeq == top, true)
	}

	if state == "" {
		state = a.outcome
	}
	// The run lasted until the stop, or until the last in-flight request it
	// let finish, not to the end of the last 250 ms interval.
	runEnd := end
	if a.stoppedAt > a.t0 {
		runEnd = min(end, max(a.stoppedAt, a.lastDone))
	}
	duration := float64(runEnd-a.t0) / float64(second)
	rate := func(n uint64) float64 {
		if duration <= 0 {
			return 0
		}
		return float64(n) / duration
	}
	res := &schemas.Result{
		SchemaVersion: schemas.ResultVersion,
		RunID:         a.cfg.runID,
		State:         state,
		StartedAt:     formatTime(a.t0),
		EndedAt:       formatTime(runEnd),
		DurationS:     duration,
		Totals: schemas.Totals{
			Requests:          a.totals.requests,
			Errors:            a.totals.errors,
			RPS:               rate(a.totals.requests),
			BytesIn:           a.totals.bytesIn,
			BytesOut:          a.totals.bytesOut,
			Iterations:        a.iters,
			DroppedIterations: a.totals.dropped,
			Retries:           a.totals.retries,
			LatencyMs:         latency.Summary(a.totalHist),
			StatusCodes:       maps.Clone(a.codes),
			ErrorsByKind:      maps.Clone(a.kinds),
		},
		Endpoints: make([]schemas.EndpointResult, 0, len(a.endpoints)),
		Timeline:  append(make([]schemas.TimelineRow, 0, len(a.timeline)), a.timeline...),
		Workers:   make([]schemas.WorkerResult, 0, len(a.workers)),
	}
	var all extras
	var allErr *hdrhistogram.Histogram
	for _, e := range a.endpoints {
		var sum schemas.LatencyMs
		if e.hist != nil {
			sum = latency.Summary(e.hist)
		}
		res.Endpoints = append(res.Endpoints, schemas.EndpointResult{
			Name: e.key.name, Method: e.key.method, URL: e.key.url,
			Requests: e.c.requests, Errors: e.c.errors, RPS: rate(e.c.requests), Retries: e.c.retries,
			BytesIn: e.c.bytesIn, BytesOut: e.c.bytesOut, LatencyMs: sum,
			StatusCodes: maps.Clone(e.codes), ErrorsByKind: maps.Clone(e.kinds),
			ServiceTimeMs: e.extra.serviceMs(), TimingsMs: e.extra.timingsMs(),
			HTTPClient: e.client, LatencyOkMs: okLatency(e.hist, e.errHist), Checks: e.checks.result(),
			LatencyMoreMs: latency.More(e.hist), Spectrum: spectrum(e.hist, e.extra.service),
			Protocol: e.proto.String(), TLSError: e.proto.tlsError,
		})
		all.merge(&e.extra)
		mergeHist(&allErr, e.errHist, latency.New)
	}
	res.Totals.LatencyOkMs = okLatency(a.totalHist, allErr)
	res.Totals.ServiceTimeMs, res.Totals.TimingsMs = all.serviceMs(), all.timingsMs()
	res.Totals.LatencyMoreMs, res.Totals.Spectrum = latency.More(a.totalHist), spectrum(a.totalHist, all.service)
	if a.checkTotals != nil {
		c := *a.checkTotals
		res.Checks = &c
	}
	a.finishThresholds(res, runEnd, duration)
	a.schedule.finish(res)
	res.Warnings = append(res.Warnings, a.trustWarnings()...)
	if wn := a.notSentWarning(); wn != "" {
		res.Warnings = append(res.Warnings, wn)
		res.Totals.NotSent = maps.Clone(a.notSent)
	}
	for _, w := range res.Warnings {
		a.cfg.log.Warn(w)
	}
	slices.SortFunc(res.Endpoints, func(x, y schemas.EndpointResult) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Method, y.Method), cmp.Compare(x.URL, y.URL))
	})
	res.HTTPClient = httpClients(res.Endpoints)
	res.Protocol = resultProtocols(res.Endpoints)
	for _, w := range a.workers {
		lost := w.lost || !w.complete()
		if lost {
			a.cfg.log.Warn("worker did not finish; its missing events are not counted",
				"worker_id", w.id, "bye", w.bye, "last_seq", w.lastSeq, "received_through", w.contiguous,
				"last_heartbeat", w.heartbeat)
		}
		res.Workers = append(res.Workers, schemas.WorkerResult{
			ID: w.id, Name: w.name, Requests: w.requests, Errors: w.errors, Lost: lost,
		})
	}
	slices.SortFunc(res.Workers, func(x, y schemas.WorkerResult) int { return cmp.Compare(x.ID, y.ID) })
	return res
}

// httpClients names the clients the endpoints were sent with, sorted and
// joined by "+"; empty when no worker said.
func httpClients(eps []schemas.EndpointResult) string {
	var names []string
	for _, e := range eps {
		if e.HTTPClient != "" && !slices.Contains(names, e.HTTPClient) {
			names = append(names, e.HTTPClient)
		}
	}
	slices.Sort(names)
	return strings.Join(names, "+")
}

func formatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
