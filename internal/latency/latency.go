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
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return schemas.LatencyMs{
		Min:  ms(h.Min()),
		Mean: h.Mean() / 1000,
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P95:  ms(h.ValueAtQuantile(95)),
		P99:  ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)),
		Max:  ms(h.Max()),
	}
}
