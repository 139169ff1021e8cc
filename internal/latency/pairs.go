package latency

import (
	"cmp"
	"slices"

	"github.com/loadforge/loadforge/schemas"
)

// Compact pairs: [value, count] pairs in the buckets of New, each value the
// lowest of its bucket, ascending, one per bucket, every count positive. They
// are what Sparse gives, and all a histogram of the same values holds: the
// summaries of a second can be read from them in one walk of a few hundred
// pairs, where a histogram costs a walk, a copy and a clearing of ~140 KB of
// counts (docs/performance.md, lesson 15).

// AppendCompact appends pairs to dst in compact form: each value clamped into
// range and moved to the lowest of its bucket, non-positive counts dropped,
// sorted, and the pairs of one bucket summed. The histogram AddSparse makes of
// the result equals the one it makes of pairs.
func AppendCompact(dst, pairs [][2]int64) [][2]int64 {
	start := len(dst)
	ascending := true
	for _, p := range pairs {
		if p[1] <= 0 {
			continue
		}
		v := geometry.value(geometry.index(min(max(p[0], LowestUs), HighestUs)))
		if n := len(dst); n > start {
			if last := dst[n-1][0]; last == v {
				dst[n-1][1] += p[1]
				continue
			} else if last > v {
				ascending = false
			}
		}
		dst = append(dst, [2]int64{v, p[1]})
	}
	if ascending {
		return dst // what a worker sends: no sort
	}
	out := dst[start:]
	slices.SortFunc(out, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	w := 0
	for _, p := range out {
		if w > 0 && out[w-1][0] == p[0] {
			out[w-1][1] += p[1]
			continue
		}
		out[w] = p
		w++
	}
	return dst[:start+w]
}

// MergeCompact appends to dst the compact pairs holding the values of the
// compact pairs a and b together.
func MergeCompact(dst, a, b [][2]int64) [][2]int64 {
	dst = slices.Grow(dst, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x, y := a[i], b[j]
		switch {
		case x[0] < y[0]:
			dst = append(dst, x)
			i++
		case x[0] > y[0]:
			dst = append(dst, y)
			j++
		default:
			dst = append(dst, [2]int64{x[0], x[1] + y[1]})
			i++
			j++
		}
	}
	return append(append(dst, a[i:]...), b[j:]...)
}

// SummaryOfCompact gives what Summary and More give for a histogram holding
// the compact pairs, to the last bit, in one walk of the pairs.
func SummaryOfCompact(pairs [][2]int64) (schemas.LatencyMs, schemas.LatencyMoreMs) {
	return summaryOf(&geometry, pairs)
}

// summaryOf is SummaryOfCompact for pairs in the buckets of layout g.
func summaryOf(g *layout, pairs [][2]int64) (schemas.LatencyMs, schemas.LatencyMoreMs) {
	var total int64
	for _, p := range pairs {
		total += p[1]
	}
	if total <= 0 {
		return schemas.LatencyMs{}, schemas.LatencyMoreMs{}
	}
	// The ranks of Summary's and More's percentiles, in ascending order
	// (order[k] is the k-th smallest's place in at): one walk finds them all.
	var ranks [len(summaryPercentiles) + len(morePercentiles)]int64
	var at [len(ranks)]int64
	order := rankOrder
	for i, p := range summaryPercentiles {
		ranks[i] = percentileRank(p, total)
	}
	for i, p := range morePercentiles {
		ranks[len(summaryPercentiles)+i] = percentileRank(p, total)
	}
	var mean float64
	var seen int64
	next := 0
	for _, p := range pairs {
		i := g.index(p[0])
		lo, size := g.value(i), g.size(i)
		mean += float64(p[1]) * float64(lo+size>>1) / float64(total)
		seen += p[1]
		for next < len(order) && ranks[order[next]] <= seen {
			at[order[next]] = lo + size - 1
			next++
		}
	}
	first, last := g.index(pairs[0][0]), g.index(pairs[len(pairs)-1][0])
	s := len(summaryPercentiles)
	return summaryMs(g.value(first), mean, at[:s], g.value(last)+g.size(last)-1), moreMs(at[s:])
}

// rankOrder lists Summary's and More's percentiles (Summary's first, at
// indexes 0..4, then More's) in ascending order; their ranks follow it too,
// as percentileRank is monotonic.
var rankOrder = func() []int {
	ps := append(summaryPercentiles[:], morePercentiles[:]...)
	order := make([]int, len(ps))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ps[a], ps[b]) })
	return order
}()

// percentileRank is the rank of the value at percentile p of total values,
// in [1, total], as HDR histograms compute it.
func percentileRank(p float64, total int64) int64 {
	rank := min(p, 100)/100*float64(total) + 0.5
	if !(rank >= 1) {
		return 1
	}
	if rank >= float64(total) {
		return total
	}
	return int64(rank)
}
