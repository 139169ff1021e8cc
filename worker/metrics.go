package worker

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// shard holds the counters and histograms of the VUs assigned to it, so that
// VUs on different shards never contend for a lock. Histograms are per shard
// and endpoint, not per VU: a few tens of KB each, made on first use.
type shard struct {
	mu         sync.Mutex
	eps        []*endpointStats // by endpoint index; nil until its first request
	iterations atomic.Uint64
	checks     []checkTally     // by check id (see scenario.go); nil until a check is counted
	iterHist   latency.Recorder // iteration durations since the last flush, under mu
	// Shards sit side by side in memory; keep each on its own cache lines so
	// that VUs on neighbouring shards do not slow each other down.
	_ [64]byte
}

// endpointStats is one endpoint's share of one shard since the last flush.
// Recording into it allocates nothing once a status code has been seen.
type endpointStats struct {
	requests, errors  uint64
	retries           uint64
	bytesIn, bytesOut uint64
	status            []statusCount // codes seen, in order of first sight; counts zeroed at each flush
	kinds             [numKinds]uint64
	hist              latency.Recorder
	lastDone          int64       // Unix ns: the latest completion since the last flush
	extra             *extraStats // service time and breakdown; nil until needed

	errHist  latency.Recorder // the failed requests' latencies (a part of hist)
	via      via              // clients and protocols of the requests
	tlsError string           // why the first TLS failure failed
}

type statusCount struct {
	code int
	n    uint64
}

func newShards(n, endpoints int) []*shard {
	shards := make([]*shard, n)
	for i := range shards {
		shards[i] = &shard{eps: make([]*endpointStats, endpoints)}
	}
	return shards
}

// record counts one attempted request of endpoint ep.
func (s *shard) record(ep int, o outcome) {
	s.mu.Lock()
	e := s.eps[ep]
	if e == nil {
		e = &endpointStats{}
		s.eps[ep] = e
	}
	e.requests++
	if o.retry {
		e.retries++
	}
	if done := o.end.UnixNano(); done > e.lastDone {
		e.lastDone = done
	}
	e.bytesIn += o.bytesIn
	e.bytesOut += o.bytesOut
	if o.status != 0 {
		e.countStatus(o.status)
	}
	if o.errKind != kindNone {
		e.errors++
		e.kinds[o.errKind]++
	}
	if o.latencyUs >= 0 {
		e.hist.Record(o.latencyUs)
		if o.errKind != kindNone {
			e.errHist.Record(o.latencyUs)
		}
		e.recordExtra(o)
	}
	e.recordVia(o)
	s.mu.Unlock()
}

// countStatus adds one response of status code. An endpoint answers with a
// handful of codes, so a short list beats a map.
func (e *endpointStats) countStatus(code int) {
	for i := range e.status {
		if e.status[i].code == code {
			e.status[i].n++
			return
		}
	}
	e.status = append(e.status, statusCount{code: code, n: 1})
}

// aggregator takes what the shards recorded and sums it per endpoint. It holds
// a shard's lock while it adds the shard's counters and histogram to its own
// and empties them: a few microseconds, once per flush interval.
type aggregator struct {
	merged    latency.Recorder
	errMerged latency.Recorder
	extras    extraAggregator
	iters     latency.Recorder // the shards' iteration durations, merged
	via       via              // of the endpoint being collected
}

// collect returns, per endpoint with traffic, everything recorded since the last
// call, and the iterations completed meanwhile, leaving the shards empty.
func (a *aggregator) collect(shards []*shard, endpoints []endpoint) ([]schemas.EndpointMetrics, uint64) {
	var out []schemas.EndpointMetrics
	for i, ep := range endpoints {
		m := schemas.EndpointMetrics{Name: ep.name, Method: ep.method, URL: ep.url, HTTPClient: ep.client}
		a.merged.Reset()
		a.errMerged.Reset()
		a.via = 0
		for _, s := range shards {
			a.take(s, i, &m)
		}
		if m.Requests == 0 {
			continue
		}
		fillVia(&m, a.via)
		a.extras.fill(&m)
		m.LatencyUs = a.merged.Sparse()
		if a.errMerged.Count() > 0 {
			m.ErrorLatencyUs = a.errMerged.Sparse()
		}
		out = append(out, m)
	}
	var iterations uint64
	for _, s := range shards {
		iterations += s.iterations.Swap(0)
	}
	return out, iterations
}

// take adds shard s's counters of endpoint i to m and its histogram to the
// merged one, and empties them.
func (a *aggregator) take(s *shard, i int, m *schemas.EndpointMetrics) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.eps[i]
	if e == nil || e.requests == 0 {
		return
	}
	if m.StatusCodes == nil {
		m.StatusCodes = make(map[string]uint64, len(e.status))
		m.ErrorsByKind = make(map[string]uint64)
	}
	m.Requests += e.requests
	m.Errors += e.errors
	m.Retries += e.retries
	m.BytesIn += e.bytesIn
	m.BytesOut += e.bytesOut
	for j := range e.status {
		if sc := &e.status[j]; sc.n != 0 {
			m.StatusCodes[strconv.Itoa(sc.code)] += sc.n
			sc.n = 0
		}
	}
	for k, n := range e.kinds {
		if n != 0 {
			m.ErrorsByKind[errorKinds[k]] += n
		}
	}
	m.LastDoneNs = max(m.LastDoneNs, e.lastDone)
	e.requests, e.errors, e.retries, e.bytesIn, e.bytesOut, e.lastDone = 0, 0, 0, 0, 0, 0
	e.kinds = [numKinds]uint64{}
	a.merged.Merge(&e.hist)
	e.hist.Reset()
	a.errMerged.Merge(&e.errHist)
	e.errHist.Reset()
	a.extras.take(e)
	e.takeVia(m, &a.via)
}
