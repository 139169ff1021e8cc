package latency

import (
	"math/rand/v2"
	"testing"
)

func TestSparseRoundTripRebuildsTheHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	h := New()
	for i := 0; i < 50_000; i++ {
		Record(h, int64(rng.ExpFloat64()*2000)+1)
	}
	pairs := Sparse(h)
	for i := 1; i < len(pairs); i++ {
		if pairs[i][0] <= pairs[i-1][0] || pairs[i][1] <= 0 {
			t.Fatalf("pairs not ascending with positive counts at %d: %v %v", i, pairs[i-1], pairs[i])
		}
	}
	back := New()
	AddSparse(back, pairs)
	if !back.Equals(h) {
		t.Errorf("rebuilt histogram differs: %d vs %d values, p99 %d vs %d",
			back.TotalCount(), h.TotalCount(), back.ValueAtQuantile(99), h.ValueAtQuantile(99))
	}
}

func TestRecordClampsOutOfRangeInsteadOfDropping(t *testing.T) {
	h := New()
	Record(h, 0)
	Record(h, -5)
	Record(h, 90*60_000_000)
	if h.TotalCount() != 3 {
		t.Fatalf("recorded %d of 3 values", h.TotalCount())
	}
	if !h.ValuesAreEquivalent(h.Max(), HighestUs) {
		t.Errorf("max %d, want about %d", h.Max(), HighestUs)
	}
}

func TestAddSparseIgnoresGarbage(t *testing.T) {
	h := New()
	AddSparse(h, [][2]int64{{100, 0}, {100, -4}, {-1, 2}, {1 << 62, 1}})
	if h.TotalCount() != 3 {
		t.Errorf("want the 3 positive counts recorded (clamped), got %d", h.TotalCount())
	}
}

func TestSummaryInMilliseconds(t *testing.T) {
	if s := Summary(New()); s.Max != 0 || s.P50 != 0 {
		t.Errorf("empty summary %+v", s)
	}
	h := New()
	for v := int64(1); v <= 1000; v++ {
		Record(h, v*1000) // 1 ms .. 1000 ms
	}
	s := Summary(h)
	within := func(name string, got, want float64) {
		if got < want*0.99 || got > want*1.01 {
			t.Errorf("%s = %.3f ms, want %.3f ± 1%%", name, got, want)
		}
	}
	within("min", s.Min, 1)
	within("p50", s.P50, 500)
	within("p90", s.P90, 900)
	within("p99", s.P99, 990)
	within("max", s.Max, 1000)
	within("mean", s.Mean, 500.5)
}

func BenchmarkRecord(b *testing.B) {
	h := New()
	for i := 0; b.Loop(); i++ {
		Record(h, int64(i%100_000)+1)
	}
}

func BenchmarkSparse(b *testing.B) {
	h := New()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100_000; i++ {
		Record(h, int64(rng.ExpFloat64()*2000)+1)
	}
	for b.Loop() {
		Sparse(h)
	}
}
