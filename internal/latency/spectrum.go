package latency

import (
	"math"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/schemas"
)

// morePercentiles are LatencyMoreMs's percentiles, in its field order.
var morePercentiles = [...]float64{66, 75, 80, 98, 99.99}

// More gives the latency percentiles Locust reports beyond Summary's, in ms;
// all zero if h is empty or nil.
func More(h *hdrhistogram.Histogram) schemas.LatencyMoreMs {
	if h == nil || h.TotalCount() == 0 {
		return schemas.LatencyMoreMs{}
	}
	return moreMs(h.ValueAtPercentilesSlice(morePercentiles[:]))
}

// Median is h's 50th percentile in ms; 0 if h is empty or nil.
func Median(h *hdrhistogram.Histogram) float64 {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return float64(h.ValueAtQuantile(50)) / 1000
}

// SpectrumTicks is how many spectrum points fall in each halving of 1-p
// (HdrHistogram's outputPercentileDistribution uses 5 too).
const SpectrumTicks = 5

// maxSpectrumHalvings bounds the spectrum at 1-p = 2^-30 (p ≈ 99.9999999%).
const maxSpectrumHalvings = 30

// SpectrumPercentiles are the percentiles of a spectrum of a histogram
// holding count values: p = 100·(1 − 2^(−i/SpectrumTicks)) for i = 0, 1, …
// while 1/(1−p) stays within count (beyond it every point is the maximum),
// then 100.
func SpectrumPercentiles(count int64) []float64 {
	ps := []float64{}
	for i := 0; i <= maxSpectrumHalvings*SpectrumTicks; i++ {
		tail := math.Exp2(-float64(i) / SpectrumTicks) // 1 - p
		if i > 0 && 1/tail > float64(count) {
			break
		}
		ps = append(ps, 100*(1-tail))
	}
	return append(ps, 100)
}

// Spectrum gives h's percentile spectrum as [percentile, ms] points (see
// schemas.Spectrum); nil if h is empty or nil.
func Spectrum(h *hdrhistogram.Histogram) [][2]float64 {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	ps := SpectrumPercentiles(h.TotalCount())
	vs := h.ValueAtPercentilesSlice(ps)
	out := make([][2]float64, len(ps))
	for i, p := range ps {
		// Rounded so that the document stays short: 1e-9 % and 1 µs are below any reading.
		out[i] = [2]float64{math.Round(p*1e9) / 1e9, float64(vs[i]) / 1000}
	}
	return out
}
