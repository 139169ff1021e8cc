package collector

import (
	"hash/maphash"
	"log/slog"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/internal/threshold"
	"github.com/loadforge/loadforge/schemas"
)

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
	// printSeed and printBuf serve fingerprint: the seed of its hash, and
	// the bytes it hashes, kept between events.
	printSeed maphash.Seed
	printBuf  []byte

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

	// sparePairs are emptied latency pair slices of published seconds, for
	// reuse. eventPairs, secondPairs and mergePairs are working space of
	// addShare and publishShares.
	sparePairs                          [][][2]int64
	eventPairs, secondPairs, mergePairs [][2]int64

	verdicts   *threshold.Set // evaluates the thresholds as each second is published
	stopReason string         // why the session stopped the run
}

// counters are the additive figures of a second, an endpoint or the run.
type counters struct {
	requests, errors, bytesIn, bytesOut, dropped uint64
	retries                                      uint64
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
		printSeed:     maphash.MakeSeed(),
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
