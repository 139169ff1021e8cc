package collector

import (
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// TestTimelineEndpointsAddUp: each second's endpoint rows add up to the
// second and, over the run, to the endpoint; their latencies are those of
// the events of that second; the cumulative medians and the spectra are
// those of the histograms rebuilt from the events.
func TestTimelineEndpointsAddUp(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour})
	ref := newReference()
	workers := []*fakeWorker{newFakeWorker("w1", 5), newFakeWorker("w2", 6)}
	for _, w := range workers {
		h.hello(w.id)
	}
	h.running()
	const seconds = 3
	type key struct {
		s    int
		name string
	}
	perSecond := map[key]*hdrhistogram.Histogram{}
	cumulative := map[key]float64{} // endpoint median through second s
	runHist := map[string]*hdrhistogram.Histogram{}
	totalThrough := latency.New()
	totalCum := map[int]float64{}
	secondTotal := map[int]*hdrhistogram.Histogram{} // every endpoint's latencies of second s
	for s := 1; s <= seconds; s++ {
		for q := 1; q <= 4; q++ {
			end := time.Duration(s-1)*time.Second + time.Duration(q)*250*time.Millisecond
			for _, w := range workers {
				ev := w.event(h.run, h.t0, end, 1, ref)
				for _, ep := range ev.Endpoints {
					k := key{s, ep.Name}
					if perSecond[k] == nil {
						perSecond[k] = latency.New()
					}
					latency.AddSparse(perSecond[k], ep.LatencyUs)
					if runHist[ep.Name] == nil {
						runHist[ep.Name] = latency.New()
					}
					latency.AddSparse(runHist[ep.Name], ep.LatencyUs)
					latency.AddSparse(totalThrough, ep.LatencyUs)
					if secondTotal[s] == nil {
						secondTotal[s] = latency.New()
					}
					latency.AddSparse(secondTotal[s], ep.LatencyUs)
				}
				h.event(ev)
			}
		}
		for name, rh := range runHist {
			cumulative[key{s, name}] = latency.Median(rh)
		}
		totalCum[s] = latency.Median(totalThrough)
	}
	h.stopping(0, "")
	for _, w := range workers {
		h.bye(w)
	}
	res := h.result()
	h.snapshotsThroughFinal()
	if err := h.wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(res.Timeline) != seconds {
		t.Fatalf("%d timeline rows, want %d", len(res.Timeline), seconds)
	}
	perEndpoint := map[string]uint64{}
	for i, row := range res.Timeline {
		s := i + 1
		var req, errs, bytes uint64
		for j, e := range row.Endpoints {
			if j > 0 && row.Endpoints[j-1].Name >= e.Name {
				t.Fatalf("second %d: endpoint rows not sorted by name: %q before %q", s, row.Endpoints[j-1].Name, e.Name)
			}
			req, errs, bytes = req+e.Requests, errs+e.Errors, bytes+e.BytesIn
			perEndpoint[e.Name] += e.Requests
			want := perSecond[key{s, e.Name}]
			if want == nil {
				t.Fatalf("second %d: a row for %s, which had no requests", s, e.Name)
			}
			if e.LatencyMs != latency.Summary(want) || e.LatencyMoreMs != latency.More(want) {
				t.Fatalf("second %d %s: latency %+v %+v, want %+v %+v", s, e.Name, e.LatencyMs, e.LatencyMoreMs,
					latency.Summary(want), latency.More(want))
			}
			if e.CumP50Ms != cumulative[key{s, e.Name}] {
				t.Fatalf("second %d %s: cumulative median %v, want %v", s, e.Name, e.CumP50Ms, cumulative[key{s, e.Name}])
			}
		}
		if req != row.Requests || errs != row.Errors || bytes != row.BytesIn {
			t.Fatalf("second %d: endpoint rows sum to %d req %d err %d bytes, the row says %d %d %d",
				s, req, errs, bytes, row.Requests, row.Errors, row.BytesIn)
		}
		if want := secondTotal[s]; row.LatencyMs != latency.Summary(want) || row.LatencyMoreMs != latency.More(want) {
			t.Fatalf("second %d: latency %+v %+v, want %+v %+v", s, row.LatencyMs, row.LatencyMoreMs,
				latency.Summary(want), latency.More(want))
		}
		if row.CumP50Ms != totalCum[s] {
			t.Fatalf("second %d: cumulative median %v, want %v", s, row.CumP50Ms, totalCum[s])
		}
	}
	for _, ep := range res.Endpoints {
		if perEndpoint[ep.Name] != ep.Requests {
			t.Fatalf("%s: timeline rows sum to %d requests, the endpoint has %d", ep.Name, perEndpoint[ep.Name], ep.Requests)
		}
		if ep.LatencyMoreMs != latency.More(ref.endpoints[ep.Name].hist) {
			t.Fatalf("%s: more percentiles %+v, want %+v", ep.Name, ep.LatencyMoreMs, latency.More(ref.endpoints[ep.Name].hist))
		}
		checkSpectrum(t, ep.Name, ep.Spectrum, ep.LatencyMs)
	}
	if res.Totals.LatencyMoreMs != latency.More(ref.total) {
		t.Fatalf("totals: more percentiles %+v, want %+v", res.Totals.LatencyMoreMs, latency.More(ref.total))
	}
	checkSpectrum(t, "totals", res.Totals.Spectrum, res.Totals.LatencyMs)
}

// checkSpectrum: percentiles rise from 0 to 100, latencies never fall, and
// the ends are the minimum and the maximum. A closed model's service time
// is its latency.
func checkSpectrum(t *testing.T, what string, sp *schemas.Spectrum, lat schemas.LatencyMs) {
	t.Helper()
	if sp == nil || len(sp.LatencyMs) < 3 {
		t.Fatalf("%s: spectrum %+v", what, sp)
	}
	pts := sp.LatencyMs
	for i := 1; i < len(pts); i++ {
		if pts[i][0] <= pts[i-1][0] || pts[i][1] < pts[i-1][1] {
			t.Fatalf("%s: spectrum point %d %v after %v", what, i, pts[i], pts[i-1])
		}
	}
	first, last := pts[0], pts[len(pts)-1]
	if first != [2]float64{0, lat.Min} || last != [2]float64{100, lat.Max} {
		t.Fatalf("%s: spectrum runs %v … %v, want [0 %v] … [100 %v]", what, first, last, lat.Min, lat.Max)
	}
	if len(sp.ServiceTimeMs) != len(pts) || sp.ServiceTimeMs[len(pts)/2] != pts[len(pts)/2] {
		t.Fatalf("%s: a closed model's service time spectrum differs from its latency's", what)
	}
}
