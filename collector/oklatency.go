package collector

import (
	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// okLatency summarises the successful requests' latency: all minus failed,
// bucket by bucket (both have latency.New's buckets). A count the failed
// histogram cannot take from (a malformed event) stays at zero.
func okLatency(all, failed *hdrhistogram.Histogram) schemas.LatencyMs {
	if all == nil {
		return schemas.LatencyMs{}
	}
	if failed == nil || failed.TotalCount() == 0 {
		return latency.Summary(all)
	}
	snap := all.Export()
	fc := failed.Export().Counts
	for i := range snap.Counts {
		if i < len(fc) {
			snap.Counts[i] = max(snap.Counts[i]-fc[i], 0)
		}
	}
	return latency.Summary(hdrhistogram.Import(snap))
}
