package worker

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// shard holds the counters and histograms of the VUs assigned to it, so that
// VUs on different shards never contend for a lock. A histogram is ~140 KB, so
// there is one per shard and endpoint, made on first use, not one per VU.
type shard struct {
	mu         sync.Mutex
	eps        []*endpointStats // by endpoint index; nil until its first request
	iterations atomic.Uint64
}

// endpointStats is one endpoint's share of one shard since the last flush.
type endpointStats struct {
	requests, errors  uint64
	bytesIn, bytesOut uint64
	status            map[int]uint64
	kinds             [numKinds]uint64
	hist              *hdrhistogram.Histogram // nil until needed
	extra             *extraStats             // service time and breakdown; nil until needed
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
		e = &endpointStats{status: make(map[int]uint64, 2)}
		s.eps[ep] = e
	}
	e.requests++
	e.bytesIn += o.bytesIn
	e.bytesOut += o.bytesOut
	if o.status != 0 {
		e.status[o.status]++
	}
	if o.errKind != kindNone {
		e.errors++
		e.kinds[o.errKind]++
	}
	if o.latencyUs >= 0 {
		if e.hist == nil {
			e.hist = latency.New()
		}
		latency.Record(e.hist, o.latencyUs)
		e.recordExtra(o)
	}
	s.mu.Unlock()
}

// aggregator takes what the shards recorded and sums it per endpoint. It holds
// a shard's lock only to copy counters and swap the filled histogram for an
// empty one; the merge runs outside the lock. The filled histogram, once merged
// and reset, is the empty one given to the next shard, so flushing allocates
// no histograms in the steady state.
type aggregator struct {
	merged *hdrhistogram.Histogram
	spare  *hdrhistogram.Histogram // may be nil: the shard then makes one when it needs it
	extras extraAggregator
}

// collect returns, per endpoint with traffic, everything recorded since the last
// call, and the iterations completed meanwhile, leaving the shards empty.
func (a *aggregator) collect(shards []*shard, endpoints []endpoint) ([]schemas.EndpointMetrics, uint64) {
	if a.merged == nil {
		a.merged = latency.New()
	}
	var out []schemas.EndpointMetrics
	for i, ep := range endpoints {
		m := schemas.EndpointMetrics{Name: ep.name, Method: ep.method, URL: ep.url}
		a.merged.Reset()
		for _, s := range shards {
			if filled := a.take(s, i, &m); filled != nil {
				a.merged.Merge(filled)
				filled.Reset()
				a.spare = filled
			}
		}
		if m.Requests == 0 {
			continue
		}
		a.extras.fill(&m)
		m.LatencyUs = latency.Sparse(a.merged)
		out = append(out, m)
	}
	var iterations uint64
	for _, s := range shards {
		iterations += s.iterations.Swap(0)
	}
	return out, iterations
}

// take adds shard s's counters of endpoint i to m, zeroes them, and returns the
// shard's histogram if it holds samples, having given the shard the spare.
func (a *aggregator) take(s *shard, i int, m *schemas.EndpointMetrics) *hdrhistogram.Histogram {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.eps[i]
	if e == nil || e.requests == 0 {
		return nil
	}
	if m.StatusCodes == nil {
		m.StatusCodes = make(map[string]uint64, len(e.status))
		m.ErrorsByKind = make(map[string]uint64)
	}
	m.Requests += e.requests
	m.Errors += e.errors
	m.BytesIn += e.bytesIn
	m.BytesOut += e.bytesOut
	for code, n := range e.status {
		m.StatusCodes[strconv.Itoa(code)] += n
	}
	for k, n := range e.kinds {
		if n != 0 {
			m.ErrorsByKind[errorKinds[k]] += n
		}
	}
	e.requests, e.errors, e.bytesIn, e.bytesOut = 0, 0, 0, 0
	e.kinds = [numKinds]uint64{}
	clear(e.status)
	a.extras.take(e)
	if e.hist == nil || e.hist.TotalCount() == 0 {
		return nil
	}
	filled := e.hist
	e.hist, a.spare = a.spare, nil
	return filled
}
