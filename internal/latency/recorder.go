package latency

import (
	"math"
	"math/bits"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The bucket layouts of HDR histograms over latency's range (LowestUs to
// HighestUs), by significant figures, computed the way HDR histograms compute
// them, so that a Recorder and an hdrhistogram.Histogram of the same
// precision put every value in the same bucket.
//
// HDR indexes its counts flat: the first 2·half entries hold values 0..2·half-1
// one by one, and each following run of half entries covers twice the range of
// the one before with half the resolution. A run of half entries is a "page"
// here: page 0 holds values [0, half), page p ≥ 1 holds [half·2^(p-1), half·2^p)
// in steps of 2^(p-1) (times the unit).
var layouts = func() (ls [maxSigFigs + 1]*layout) {
	for n := 1; n <= maxSigFigs; n++ {
		g := newGeometry(LowestUs, HighestUs, n)
		ls[n] = &g
	}
	return ls
}()

// geometry is the layout of New.
var geometry = *layouts[SigFigs]

// maxSigFigs is the most significant figures an HDR histogram takes.
const maxSigFigs = 5

type layout struct {
	unitMagnitude uint // log2 of the lowest discernible value
	halfMagnitude uint // log2 of half, the number of entries in a page
	half          int
	pages         int
	subBucketMask int64 // (2·half - 1) << unitMagnitude
}

func newGeometry(lowest, highest int64, sigFigs int) layout {
	// Unit resolution is kept up to 2·10^sigFigs; the sub-bucket count is the
	// power of two at or above it.
	subBucketCountMagnitude := uint(math.Ceil(math.Log2(2 * math.Pow10(sigFigs))))
	unitMagnitude := uint(bits.Len64(uint64(lowest)) - 1)
	g := layout{unitMagnitude: unitMagnitude, halfMagnitude: subBucketCountMagnitude - 1}
	g.half = 1 << g.halfMagnitude
	g.subBucketMask = int64(2*g.half-1) << unitMagnitude
	buckets := 1
	for smallestUntrackable := int64(2*g.half) << unitMagnitude; smallestUntrackable <= highest; smallestUntrackable <<= 1 {
		buckets++
	}
	g.pages = buckets + 1
	if g.pages > 64 {
		panic("latency: more pages than Recorder.used can mark") // not with the bounds above
	}
	return g
}

// index is the flat HDR counts index of v, which must lie in [0, HighestUs].
func (g *layout) index(v int64) int {
	bucket := bits.Len64(uint64(v|g.subBucketMask)) - int(g.unitMagnitude) - int(g.halfMagnitude) - 1
	sub := int(v >> (uint(bucket) + g.unitMagnitude))
	return (bucket+1)<<g.halfMagnitude + sub - g.half
}

// value is the lowest value of the bucket at flat index i: what HDR reports as
// the bucket's value and what recording it back lands on the same bucket.
func (g *layout) value(i int) int64 {
	bucket := i>>g.halfMagnitude - 1
	sub := i&(g.half-1) + g.half
	if bucket < 0 {
		sub -= g.half
		bucket = 0
	}
	return int64(sub) << (uint(bucket) + g.unitMagnitude)
}

// size is how many values the bucket at flat index i holds.
func (g *layout) size(i int) int64 {
	return int64(1) << (uint(max(i>>g.halfMagnitude-1, 0)) + g.unitMagnitude)
}

// A Recorder is a latency histogram in microseconds with the buckets of New
// (or of an HDR histogram of other precision: NewRecorderSigFigs), made for
// recording on a hot path and for flushing often: Record is a few
// instructions with no error to check, memory is taken a page of buckets at a
// time where values actually fall (a few tens of KB instead of ~140 KB), and
// Merge, Reset and Sparse touch only the pages in use. It is not safe for
// concurrent use. The zero value is an empty Recorder with the buckets of New.
type Recorder struct {
	g     *layout    // nil: geometry, the layout of New
	pages [][]uint32 // by page; nil until a value falls in it
	used  uint64     // bit p: page p may hold counts (set on recording, cleared by Reset)
	total int64
}

// NewRecorder returns an empty Recorder with the buckets of New.
func NewRecorder() *Recorder {
	return &Recorder{}
}

// NewRecorderSigFigs returns an empty Recorder with the buckets of an HDR
// histogram from LowestUs to HighestUs at sigFigs significant figures (1 to
// 5): its Sparse pairs rebuild such a histogram exactly.
func NewRecorderSigFigs(sigFigs int) *Recorder {
	if sigFigs < 1 || sigFigs > maxSigFigs {
		panic("latency: significant figures out of 1..5")
	}
	return &Recorder{g: layouts[sigFigs]}
}

func (r *Recorder) layout() *layout {
	if r.g == nil {
		return &geometry
	}
	return r.g
}

func (r *Recorder) page(p int) []uint32 {
	g := r.layout()
	if r.pages == nil {
		r.pages = make([][]uint32, g.pages)
	}
	pg := r.pages[p]
	if pg == nil {
		pg = make([]uint32, g.half)
		r.pages[p] = pg
	}
	return pg
}

// Record adds one latency in microseconds, clamped into the trackable range like
// Record's.
func (r *Recorder) Record(us int64) {
	if us < LowestUs {
		us = LowestUs
	}
	if us > HighestUs {
		us = HighestUs
	}
	g := r.layout()
	i := g.index(us)
	p := i >> g.halfMagnitude
	r.page(p)[i&(g.half-1)]++
	r.used |= 1 << p
	r.total++
}

// Count is the number of values recorded.
func (r *Recorder) Count() int64 { return r.total }

// Merge adds everything recorded in o, which must have r's buckets, to r.
func (r *Recorder) Merge(o *Recorder) {
	if o.total == 0 {
		return
	}
	if r.layout() != o.layout() {
		panic("latency: merging recorders of different precision")
	}
	for p, src := range o.pages {
		if o.used&(1<<p) == 0 {
			continue
		}
		dst := r.page(p)
		for i, n := range src {
			dst[i] += n
		}
	}
	r.used |= o.used
	r.total += o.total
}

// Reset empties r and keeps its pages for the next values.
func (r *Recorder) Reset() {
	if r.total == 0 {
		return
	}
	for p, pg := range r.pages {
		if r.used&(1<<p) != 0 {
			clear(pg)
		}
	}
	r.used, r.total = 0, 0
}

// AppendSparse appends r's [value, count] pairs, one per non-empty bucket in
// ascending value order, to dst. The pairs are those Sparse gives for an
// hdrhistogram.Histogram holding the same values.
func (r *Recorder) AppendSparse(dst [][2]int64) [][2]int64 {
	if r.total == 0 {
		return dst
	}
	g := r.layout()
	for p, pg := range r.pages {
		if r.used&(1<<p) == 0 {
			continue
		}
		base := p << g.halfMagnitude
		for i, n := range pg {
			if n != 0 {
				dst = append(dst, [2]int64{g.value(base + i), int64(n)})
			}
		}
	}
	return dst
}

// Sparse returns r as [value, count] pairs; nil when empty.
func (r *Recorder) Sparse() [][2]int64 {
	if r.total == 0 {
		return nil
	}
	return r.AppendSparse(make([][2]int64, 0, r.nonEmpty()))
}

// nonEmpty counts the non-empty buckets, to size Sparse's result exactly.
func (r *Recorder) nonEmpty() int {
	n := 0
	for p, pg := range r.pages {
		if r.used&(1<<p) == 0 {
			continue
		}
		for _, c := range pg {
			if c != 0 {
				n++
			}
		}
	}
	return n
}

// sparseFromCounts turns the flat counts of an HDR histogram of layout g into sparse pairs.
func sparseFromCounts(g *layout, counts []int64) [][2]int64 {
	n := 0
	for _, c := range counts {
		if c > 0 {
			n++
		}
	}
	out := make([][2]int64, 0, n)
	for i, c := range counts {
		if c > 0 {
			out = append(out, [2]int64{g.value(i), c})
		}
	}
	return out
}

// layoutOf is the layout of h when it covers latency's range, which the fast
// paths over its flat counts assume; nil otherwise.
func layoutOf(h *hdrhistogram.Histogram) *layout {
	if h.LowestTrackableValue() != LowestUs || h.HighestTrackableValue() != HighestUs {
		return nil
	}
	if n := int(h.SignificantFigures()); n >= 1 && n <= maxSigFigs {
		return layouts[n]
	}
	return nil
}
