package collector

import (
	"cmp"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// share is one endpoint's part of a second: its counts and the latency pairs
// of its events, summarised when the second is published. Pairs rather than
// a histogram: a histogram per endpoint and open second would cost far more
// memory than the pairs a second brings.
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
		s = &share{}
		if n := len(a.sparePairs); n > 0 {
			s.pairs, a.sparePairs = a.sparePairs[n-1], a.sparePairs[:n-1]
		}
		b.shares[e] = s
	}
	s.c.add(c)
	s.pairs = append(s.pairs, pairs...)
}

// publishShares summarises second b's endpoint shares into timeline rows,
// sorted like the result's endpoints, and folds their latencies into each
// endpoint's run histogram, so that an endpoint's run histogram holds exactly
// the published seconds (its cumulative median is then Locust's "Total Median").
func (a *aggregator) publishShares(b *bucket) []schemas.TimelineEndpoint {
	if len(b.shares) == 0 {
		return nil
	}
	rows := make([]schemas.TimelineEndpoint, 0, len(b.shares))
	for e, s := range b.shares {
		row := schemas.TimelineEndpoint{
			Name: e.key.name, Method: e.key.method, URL: e.key.url,
			Requests: s.c.requests, Errors: s.c.errors, BytesIn: s.c.bytesIn,
		}
		if len(s.pairs) > 0 {
			h := a.scratchHist()
			latency.AddSparse(h, s.pairs)
			row.LatencyMs, row.LatencyMoreMs = latency.Summary(h), latency.More(h)
			if e.hist == nil {
				e.hist = latency.New()
			}
			latency.AddSparse(e.hist, s.pairs)
		}
		row.CumP50Ms = latency.Median(e.hist)
		rows = append(rows, row)
		if len(a.sparePairs) < maxSparePairs {
			a.sparePairs = append(a.sparePairs, s.pairs[:0])
		}
	}
	slices.SortFunc(rows, func(x, y schemas.TimelineEndpoint) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Method, y.Method), cmp.Compare(x.URL, y.URL))
	})
	return rows
}

// scratchHist returns the aggregator's one reusable histogram, emptied.
func (a *aggregator) scratchHist() *hdrhistogram.Histogram {
	if a.scratch == nil {
		a.scratch = latency.New()
	}
	a.scratch.Reset()
	return a.scratch
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
