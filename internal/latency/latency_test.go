package latency

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/schemas"
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

// Summary's one walk gives, to the last bit, what HDR's own Min, Mean, Max
// and ValueAtQuantile give, at every precision the layouts cover and for
// values across the whole range.
func TestSummaryMatchesHDR(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for sig := 1; sig <= maxSigFigs; sig++ {
		rounds := 12
		if sig >= 4 {
			rounds = 3 // megabytes of counts each: a walk costs the race detector seconds
		}
		for round := range rounds {
			h := hdrhistogram.New(LowestUs, HighestUs, sig)
			n := 1 + rng.IntN(5000)
			scale := math.Pow(10, float64(rng.IntN(8)))
			for range n {
				Record(h, int64(rng.ExpFloat64()*scale)+int64(rng.IntN(3)))
			}
			if round == 0 {
				Record(h, HighestUs) // the last bucket
				Record(h, LowestUs)
			}
			ms := func(us int64) float64 { return float64(us) / 1000 }
			want := schemas.LatencyMs{Min: ms(h.Min()), Mean: h.Mean() / 1000, P50: ms(h.ValueAtQuantile(50)),
				P90: ms(h.ValueAtQuantile(90)), P95: ms(h.ValueAtQuantile(95)), P99: ms(h.ValueAtQuantile(99)),
				P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max())}
			if got := Summary(h); got != want {
				t.Fatalf("%d figures, round %d: Summary %+v, HDR %+v", sig, round, got, want)
			}
		}
	}
	// A histogram of another range takes HDR's own walks.
	h := hdrhistogram.New(1, 1000, 2)
	_ = h.RecordValue(500)
	if got := Summary(h); got.Min != ms(h.Min()) || got.Max != ms(h.Max()) || got.Mean != h.Mean()/1000 {
		t.Errorf("other range: %+v", got)
	}
}

func ms(us int64) float64 { return float64(us) / 1000 }

func BenchmarkSummary(b *testing.B) {
	h := New()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		Record(h, int64(rng.ExpFloat64()*2000)+1)
	}
	for b.Loop() {
		Summary(h)
	}
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
