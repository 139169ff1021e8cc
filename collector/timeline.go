package collector

import (
	"cmp"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// share is one endpoint's part of a second: its counts and its latencies as
// compact pairs (latency.AppendCompact), summarised when the second is
// published. Pairs rather than a histogram: a histogram per endpoint and open
// second would cost far more memory than the pairs a second brings, and its
// summary a walk, a copy and a clearing of all its buckets.
type share struct {
	c     counters
	pairs [][2]int64
}

// maxSparePairs bounds the pair slices kept for reuse.
const maxSparePairs = 64

// addShare adds one event's entry for endpoint e to second b.
func (a *aggregator) addShare(b *bucket, e *endpointAgg, c counters, pairs [][2]int64) {
	if b.shares == nil {
		b.shares = make(map[*endpointAgg]*share)
	}
	s := b.shares[e]
	if s == nil {
		s = &share{pairs: a.takePairs()}
		b.shares[e] = s
	}
	s.c.add(c)
	if len(pairs) == 0 {
		return
	}
	if len(s.pairs) == 0 {
		s.pairs = latency.AppendCompact(s.pairs, pairs)
		return
	}
	a.eventPairs = latency.AppendCompact(a.eventPairs[:0], pairs)
	merged := latency.MergeCompact(a.takePairs(), s.pairs, a.eventPairs)
	a.keepPairs(s.pairs)
	s.pairs = merged
}

// takePairs is an empty pair slice, with room when one is spare.
func (a *aggregator) takePairs() [][2]int64 {
	n := len(a.sparePairs)
	if n == 0 {
		return nil
	}
	p := a.sparePairs[n-1]
	a.sparePairs = a.sparePairs[:n-1]
	return p
}

// keepPairs keeps p's room for takePairs.
func (a *aggregator) keepPairs(p [][2]int64) {
	if cap(p) > 0 && len(a.sparePairs) < maxSparePairs {
		a.sparePairs = append(a.sparePairs, p[:0])
	}
}

// publishShares summarises second b's endpoint shares into timeline rows,
// sorted like the result's endpoints, and folds their latencies into each
// endpoint's run histogram, so that an endpoint's run histogram holds exactly
// the published seconds (its cumulative median is then Locust's "Total Median").
// all is the second's latencies over every endpoint, as compact pairs; it
// is valid until the next call.
func (a *aggregator) publishShares(b *bucket) (rows []schemas.TimelineEndpoint, all [][2]int64) {
	all = a.secondPairs[:0]
	if len(b.shares) == 0 {
		return nil, all
	}
	rows = make([]schemas.TimelineEndpoint, 0, len(b.shares))
	for e, s := range b.shares {
		row := schemas.TimelineEndpoint{
			Name: e.key.name, Method: e.key.method, URL: e.key.url,
			Requests: s.c.requests, Errors: s.c.errors, BytesIn: s.c.bytesIn,
		}
		if len(s.pairs) > 0 {
			row.LatencyMs, row.LatencyMoreMs = latency.SummaryOfCompact(s.pairs)
			if e.hist == nil {
				e.hist = latency.New()
			}
			latency.AddSparse(e.hist, s.pairs)
			a.mergePairs = latency.MergeCompact(a.mergePairs[:0], all, s.pairs)
			all, a.mergePairs = a.mergePairs, all
		}
		row.CumP50Ms = latency.Median(e.hist)
		rows = append(rows, row)
		a.keepPairs(s.pairs)
	}
	a.secondPairs = all
	slices.SortFunc(rows, func(x, y schemas.TimelineEndpoint) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Method, y.Method), cmp.Compare(x.URL, y.URL))
	})
	return rows, all
}

// spectrum builds the percentile spectrum of a latency and a service time
// histogram; nil when both are empty.
func spectrum(lat, service *hdrhistogram.Histogram) *schemas.Spectrum {
	l, s := latency.Spectrum(lat), latency.Spectrum(service)
	if l == nil && s == nil {
		return nil
	}
	return &schemas.Spectrum{LatencyMs: l, ServiceTimeMs: s}
}
