package latency

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomPairs are the pairs a worker or a malformed message could send: in
// order or not, values anywhere (also out of range, not a bucket's lowest),
// counts of every sign.
func randomPairs(rng *rand.Rand, n int, messy bool) [][2]int64 {
	h := New()
	for range n {
		Record(h, int64(rng.ExpFloat64()*float64(rng.IntN(50_000)+1))+1)
	}
	pairs := Sparse(h)
	if !messy {
		return pairs
	}
	for range rng.IntN(20) {
		pairs = append(pairs, [2]int64{rng.Int64N(2*HighestUs) - 100, rng.Int64N(20) - 5})
	}
	rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	return pairs
}

// checkCompact asserts that the compact form of pairs is what a histogram
// of them holds, and that its summary is the histogram's, to the last bit.
func checkCompact(t *testing.T, pairs [][2]int64) {
	t.Helper()
	h := New()
	AddSparse(h, pairs)
	prefix := [][2]int64{{7, 7}} // appending keeps what dst held
	got := AppendCompact(prefix, pairs)
	if got[0] != prefix[0] {
		t.Fatalf("AppendCompact changed dst's first pair: %v", got[0])
	}
	if want := Sparse(h); !slices.Equal(got[1:], want) {
		t.Fatalf("compact pairs %v, histogram holds %v", got[1:], want)
	}
	sum, more := SummaryOfCompact(got[1:])
	if want := Summary(h); sum != want {
		t.Errorf("summary %+v, histogram's %+v", sum, want)
	}
	if want := More(h); more != want {
		t.Errorf("more %+v, histogram's %+v", more, want)
	}
}

func TestCompactSummaryIsTheHistogramsSummary(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	checkCompact(t, nil)
	checkCompact(t, [][2]int64{{100, 0}, {-3, -1}})
	checkCompact(t, [][2]int64{{1 << 62, 1}, {0, 2}, {1500, 3}, {1501, 4}})
	for i := range 300 {
		checkCompact(t, randomPairs(rng, 1+rng.IntN(5000), i%2 == 1))
	}
}

func TestMergeCompactHoldsBothSides(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		a, b := randomPairs(rng, rng.IntN(3000), true), randomPairs(rng, rng.IntN(3000), true)
		got := MergeCompact(nil, AppendCompact(nil, a), AppendCompact(nil, b))
		if want := AppendCompact(nil, append(slices.Clone(a), b...)); !slices.Equal(got, want) {
			t.Fatalf("merged %d pairs, compact of both %d", len(got), len(want))
		}
	}
}

func FuzzCompact(f *testing.F) {
	f.Add([]byte{})
	f.Add(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 1500), 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		var pairs [][2]int64
		for len(b) >= 4 {
			// Values across the range and beyond it; small counts, so that
			// sums cannot overflow int64.
			v := int64(int32(binary.LittleEndian.Uint32(b))) * 64
			pairs = append(pairs, [2]int64{v, int64(int8(b[0])) / 4})
			b = b[4:]
		}
		checkCompact(t, pairs)
	})
}

// BenchmarkSummaryOfCompact summarises the values of BenchmarkSummary's
// histogram from their compact pairs.
func BenchmarkSummaryOfCompact(b *testing.B) {
	h := New()
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		Record(h, int64(rng.ExpFloat64()*2000)+1)
	}
	pairs := Sparse(h)
	for b.Loop() {
		SummaryOfCompact(pairs)
	}
	b.ReportMetric(float64(len(pairs)), "pairs")
}
