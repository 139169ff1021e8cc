package latency

import (
	"math"
	"testing"
)

func TestSpectrumPercentilesStopAtTheResolution(t *testing.T) {
	for _, count := range []int64{1, 2, 1000, 1 << 20} {
		ps := SpectrumPercentiles(count)
		if ps[0] != 0 || ps[len(ps)-1] != 100 {
			t.Fatalf("count %d: %v…%v, want 0…100", count, ps[0], ps[len(ps)-1])
		}
		inner := ps[len(ps)-2]
		if 1/(1-inner/100) > float64(count)*(1+1e-9) {
			t.Fatalf("count %d: point %v lies past the histogram's resolution", count, inner)
		}
		// The next tick would have passed it: no point is left out before 100.
		if next := math.Exp2(-float64(len(ps)-1) / SpectrumTicks); count > 1 && 1/next <= float64(count) && len(ps)-1 < maxSpectrumHalvings*SpectrumTicks {
			t.Fatalf("count %d: stopped early at %d points", count, len(ps))
		}
	}
}

func TestSpectrumEndsAtMinAndMax(t *testing.T) {
	h := New()
	for v := int64(1); v <= 10000; v++ {
		Record(h, v*10)
	}
	sp := Spectrum(h)
	if sp[0] != [2]float64{0, float64(h.Min()) / 1000} || sp[len(sp)-1] != [2]float64{100, float64(h.Max()) / 1000} {
		t.Fatalf("spectrum %v … %v, want min %d µs and max %d µs", sp[0], sp[len(sp)-1], h.Min(), h.Max())
	}
	for _, p := range sp {
		if want := float64(h.ValueAtQuantile(p[0])) / 1000; p[1] != want && p[0] != 0 {
			t.Fatalf("point %v, want %v ms", p, want)
		}
	}
	if Spectrum(New()) != nil || More(nil) != (More(New())) {
		t.Fatal("an empty histogram has a spectrum")
	}
}
