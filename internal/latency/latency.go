// Package latency holds the HDR histogram settings loadforge uses everywhere,
// and converts histograms to and from their sparse wire form.
package latency

import (
	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/schemas"
)

// Histogram bounds: microseconds from 1 µs to 60 s, 3 significant digits.
const (
	LowestUs  = 1
	HighestUs = 60_000_000
	SigFigs   = 3
)

// New returns an empty latency histogram in microseconds.
func New() *hdrhistogram.Histogram {
	return hdrhistogram.New(LowestUs, HighestUs, SigFigs)
}

// Record adds one latency in microseconds, clamped into the trackable range so
// that no sample is ever dropped (a 90 s stall counts as 60 s, not as nothing).
func Record(h *hdrhistogram.Histogram, us int64) {
	if us < LowestUs {
		us = LowestUs
	}
	if us > HighestUs {
		us = HighestUs
	}
	_ = h.RecordValue(us) // cannot fail inside the range
}

// Sparse returns h as [value, count] pairs, one per non-empty bucket, value ascending.
// Each value is the lowest of its bucket, so recording the pairs back lands
// every count in the bucket it came from.
func Sparse(h *hdrhistogram.Histogram) [][2]int64 {
	if h.TotalCount() == 0 {
		return nil
	}
	if g := layoutOf(h); g != nil {
		// One copy of the flat counts walked once; Distribution would build a
		// bar for every bucket up to the last value.
		return sparseFromCounts(g, h.Export().Counts)
	}
	var out [][2]int64
	for _, b := range h.Distribution() {
		if b.Count != 0 {
			out = append(out, [2]int64{b.From, b.Count})
		}
	}
	return out
}

// AddSparse records sparse pairs into h. Pairs outside the range are clamped;
// non-positive counts are ignored (they can only come from a malformed message).
func AddSparse(h *hdrhistogram.Histogram, pairs [][2]int64) {
	for _, p := range pairs {
		v, n := p[0], p[1]
		if n <= 0 {
			continue
		}
		if v < LowestUs {
			v = LowestUs
		}
		if v > HighestUs {
			v = HighestUs
		}
		_ = h.RecordValues(v, n)
	}
}

// Summary gives min, mean, percentiles and max of h in milliseconds; all zero if empty.
func Summary(h *hdrhistogram.Histogram) schemas.LatencyMs {
	if h.TotalCount() == 0 {
		return schemas.LatencyMs{}
	}
	if g := layoutOf(h); g != nil {
		// One walk of its pairs; HDR walks the counts once for each of min,
		// mean and max, bucket by bucket.
		sum, _ := summaryOf(g, sparseFromCounts(g, h.Export().Counts))
		return sum
	}
	return summaryMs(h.Min(), h.Mean(), h.ValueAtPercentilesSlice(summaryPercentiles[:]), h.Max())
}

// summaryMs is a Summary from its parts in µs; p holds the values at
// summaryPercentiles.
func summaryMs(minUs int64, meanUs float64, p []int64, maxUs int64) schemas.LatencyMs {
	return schemas.LatencyMs{
		Min:  toMs(minUs),
		Mean: meanUs / 1000,
		P50:  toMs(p[0]),
		P90:  toMs(p[1]),
		P95:  toMs(p[2]),
		P99:  toMs(p[3]),
		P999: toMs(p[4]),
		Max:  toMs(maxUs),
	}
}

// moreMs is a More from the values in µs at morePercentiles.
func moreMs(p []int64) schemas.LatencyMoreMs {
	return schemas.LatencyMoreMs{P66: toMs(p[0]), P75: toMs(p[1]), P80: toMs(p[2]), P98: toMs(p[3]), P9999: toMs(p[4])}
}

func toMs(us int64) float64 { return float64(us) / 1000 }

// summaryPercentiles are Summary's, ascending.
var summaryPercentiles = [...]float64{50, 90, 95, 99, 99.9}
