package latency

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// values spreads samples over the whole range, its edges and beyond.
func values(rng *rand.Rand, n int) []int64 {
	vs := []int64{-3, 0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, 1 << 20, HighestUs - 1, HighestUs, HighestUs + 1, 1 << 40}
	for range n {
		switch rng.IntN(3) {
		case 0:
			vs = append(vs, int64(rng.ExpFloat64()*2000)+1)
		case 1:
			vs = append(vs, rng.Int64N(HighestUs)+1)
		default:
			vs = append(vs, int64(1)<<rng.IntN(27)+rng.Int64N(3)-1)
		}
	}
	return vs
}

func TestRecorderMatchesHDRBucketForBucket(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	h := New()
	r := NewRecorder()
	for _, v := range values(rng, 100_000) {
		Record(h, v)
		r.Record(v)
	}
	if r.Count() != h.TotalCount() {
		t.Fatalf("recorder holds %d values, histogram %d", r.Count(), h.TotalCount())
	}
	got, want := r.Sparse(), Sparse(h)
	if !slices.Equal(got, want) {
		t.Fatalf("recorder pairs differ from the histogram's: %d vs %d pairs", len(got), len(want))
	}
	back := New()
	AddSparse(back, got)
	if !back.Equals(h) {
		t.Error("histogram rebuilt from the recorder's pairs differs")
	}
}

// At every precision HDR takes, a Recorder's buckets are the histogram's.
func TestRecorderSigFigsMatchesHDR(t *testing.T) {
	for sigFigs := 1; sigFigs <= 5; sigFigs++ {
		rng := rand.New(rand.NewPCG(uint64(sigFigs), 9))
		h := hdrhistogram.New(LowestUs, HighestUs, sigFigs)
		r := NewRecorderSigFigs(sigFigs)
		for _, v := range values(rng, 20_000) {
			Record(h, v)
			r.Record(v)
		}
		var fromDistribution [][2]int64
		for _, b := range h.Distribution() {
			if b.Count != 0 {
				fromDistribution = append(fromDistribution, [2]int64{b.From, b.Count})
			}
		}
		if got := r.Sparse(); !slices.Equal(got, fromDistribution) || !slices.Equal(Sparse(h), fromDistribution) {
			t.Errorf("%d digits: recorder (%d pairs) or Sparse differs from the histogram (%d pairs)", sigFigs, len(got), len(fromDistribution))
		}
		back := hdrhistogram.New(LowestUs, HighestUs, sigFigs)
		AddSparse(back, r.Sparse())
		if !back.Equals(h) {
			t.Errorf("%d digits: histogram rebuilt from the recorder's pairs differs", sigFigs)
		}
	}
}

func TestRecorderMergeRefusesOtherPrecision(t *testing.T) {
	a, b := NewRecorder(), NewRecorderSigFigs(2)
	b.Record(10)
	defer func() {
		if recover() == nil {
			t.Error("a 3-digit recorder merged a 2-digit one")
		}
	}()
	a.Merge(b)
}

func TestSparseOfForeignLayoutStillRebuilds(t *testing.T) {
	// A histogram with other bounds takes the general path.
	h := New()
	other := Sparse(h)
	if other != nil {
		t.Fatalf("empty histogram gave %v", other)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, v := range values(rng, 1000) {
		Record(h, v)
	}
	fast := Sparse(h)
	var slow [][2]int64
	for _, b := range h.Distribution() {
		if b.Count != 0 {
			slow = append(slow, [2]int64{b.From, b.Count})
		}
	}
	if !slices.Equal(fast, slow) {
		t.Errorf("Sparse differs from the histogram's own distribution: %d vs %d pairs", len(fast), len(slow))
	}
}

func TestRecorderMergeAndReset(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var a, b, ab Recorder // zero values are usable
	h := New()
	for i, v := range values(rng, 5000) {
		if i%3 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
		Record(h, v)
	}
	ab.Merge(&a)
	ab.Merge(&b)
	ab.Merge(&Recorder{})
	if !slices.Equal(ab.Sparse(), Sparse(h)) || ab.Count() != h.TotalCount() {
		t.Fatal("merged recorder differs from one histogram of every value")
	}
	ab.Reset()
	if ab.Count() != 0 || ab.Sparse() != nil || len(ab.AppendSparse(nil)) != 0 {
		t.Fatal("reset recorder is not empty")
	}
	ab.Record(5)
	if got := ab.Sparse(); !slices.Equal(got, [][2]int64{{5, 1}}) {
		t.Errorf("after reset and one value: %v", got)
	}
}

func BenchmarkRecorderRecord(b *testing.B) {
	r := NewRecorder()
	for i := 0; b.Loop(); i++ {
		r.Record(int64(i%100_000) + 1)
	}
}

// BenchmarkRecorderFlush is one shard's interval: merge into the interval's
// recorder, reset, and the sparse form of the merge.
func BenchmarkRecorderFlush(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	shard, merged := NewRecorder(), NewRecorder()
	vs := make([]int64, 20_000)
	for i := range vs {
		vs[i] = int64(rng.ExpFloat64()*2000) + 1
	}
	var buf [][2]int64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for _, v := range vs {
			shard.Record(v)
		}
		b.StartTimer()
		merged.Merge(shard)
		shard.Reset()
		buf = merged.AppendSparse(buf[:0])
		merged.Reset()
	}
}
