package collector

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/loadforge/loadforge/schemas"
)

// fitResult keeps the result within budget bytes of msgpack, so that it can
// be published in one message (the bus's max payload: 8 MB embedded, 1 MB
// by default on a standalone server). What grows with the run's length times
// its endpoints is the timeline's per-endpoint breakdown: when the result is
// too big, each run of k seconds' breakdowns is merged into the row that ends
// it (counts summed, latencies the highest of those seconds), with k as small
// as fits, and the result says so in timeline_endpoints_every and a warning.
// The rows' own figures, the totals and the endpoints are untouched.
func fitResult(res *schemas.Result, budget int) error {
	size, err := encodedSize(res)
	if err != nil || budget <= 0 || size <= budget {
		return err
	}
	full := make([][]schemas.TimelineEndpoint, len(res.Timeline))
	for i := range res.Timeline {
		full[i] = res.Timeline[i].Endpoints
		res.Timeline[i].Endpoints = nil
	}
	base, err := encodedSize(res)
	if err != nil {
		return err
	}
	// The breakdown shrinks about k-fold; start from that guess and grow.
	k := 2
	if room := budget - base; room > 0 {
		k = max(2, (size-base+room-1)/room)
	} else {
		k = len(res.Timeline) + 1
	}
	for ; ; k++ {
		if k > len(res.Timeline) {
			// Not even one merged row fits: the breakdown is left out.
			for i := range res.Timeline {
				res.Timeline[i].Endpoints = nil
			}
			res.EndpointsEvery = 0
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"the timeline's per-endpoint breakdown is left out: the result would exceed the bus's message limit (%d bytes)", budget))
			return nil
		}
		mergeEndpointRows(res, full, k)
		if size, err = encodedSize(res); err != nil {
			return err
		}
		if size <= budget {
			res.EndpointsEvery = k
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"the timeline's per-endpoint breakdown is kept per %d s (latencies: the highest second of each): per second, the result would exceed the bus's message limit (%d bytes)", k, budget))
			return nil
		}
	}
}

func encodedSize(res *schemas.Result) (int, error) {
	data, err := schemas.Encode(res)
	if err != nil {
		return 0, fmt.Errorf("encode result: %w", err)
	}
	return len(data), nil
}

// mergeEndpointRows gives row i the merged breakdown of rows i-k+1 … i when
// i+1 is a multiple of k, and the last row that of the seconds left; the
// other rows none.
func mergeEndpointRows(res *schemas.Result, full [][]schemas.TimelineEndpoint, k int) {
	for start := 0; start < len(full); start += k {
		end := min(start+k, len(full)) - 1
		for i := start; i < end; i++ {
			res.Timeline[i].Endpoints = nil
		}
		res.Timeline[end].Endpoints = mergeEndpoints(full[start : end+1])
	}
}

// mergeEndpoints merges several seconds of one endpoint list: counts add up,
// latency min is the least, the mean is weighted by requests, percentiles
// and max are the highest of the seconds, the median to date the latest.
func mergeEndpoints(rows [][]schemas.TimelineEndpoint) []schemas.TimelineEndpoint {
	type key struct{ name, method, url string }
	merged := map[key]*schemas.TimelineEndpoint{}
	sums := map[key]float64{}
	for _, row := range rows {
		for _, e := range row {
			k := key{e.Name, e.Method, e.URL}
			m := merged[k]
			if m == nil {
				c := e
				merged[k], sums[k] = &c, e.LatencyMs.Mean*float64(e.Requests)
				continue
			}
			if e.Requests > 0 && (m.Requests == 0 || e.LatencyMs.Min < m.LatencyMs.Min) {
				m.LatencyMs.Min = e.LatencyMs.Min
			}
			l, ml := e.LatencyMs, &m.LatencyMs
			ml.P50, ml.P90, ml.P95, ml.P99, ml.P999, ml.Max = max(ml.P50, l.P50), max(ml.P90, l.P90), max(ml.P95, l.P95),
				max(ml.P99, l.P99), max(ml.P999, l.P999), max(ml.Max, l.Max)
			o, mo := e.LatencyMoreMs, &m.LatencyMoreMs
			mo.P66, mo.P75, mo.P80, mo.P98, mo.P9999 = max(mo.P66, o.P66), max(mo.P75, o.P75), max(mo.P80, o.P80), max(mo.P98, o.P98), max(mo.P9999, o.P9999)
			m.Requests, m.Errors, m.BytesIn = m.Requests+e.Requests, m.Errors+e.Errors, m.BytesIn+e.BytesIn
			m.CumP50Ms = e.CumP50Ms
			sums[k] += e.LatencyMs.Mean * float64(e.Requests)
		}
	}
	out := make([]schemas.TimelineEndpoint, 0, len(merged))
	for k, m := range merged {
		if m.Requests > 0 {
			m.LatencyMs.Mean = sums[k] / float64(m.Requests)
		}
		out = append(out, *m)
	}
	slices.SortFunc(out, func(x, y schemas.TimelineEndpoint) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Method, y.Method), cmp.Compare(x.URL, y.URL))
	})
	return out
}
