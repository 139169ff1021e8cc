package collector

import (
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// TestLatencyOkLeavesTheFailuresOut: latency_ms covers every request with a
// latency, latency_ok_ms the successful ones alone.
func TestLatencyOkLeavesTheFailuresOut(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour})
	w := newFakeWorker("w1", 1)
	h.hello(w.id)
	h.running()
	okHist, allHist := latency.New(), latency.New()
	for q := 1; q <= 4; q++ {
		ok := [][2]int64{{int64(q) * 1000, 90}}
		failed := [][2]int64{{1_000_000 + int64(q), 10}} // timeouts at about 1 s
		latency.AddSparse(okHist, ok)
		latency.AddSparse(allHist, ok)
		latency.AddSparse(allHist, failed)
		w.seq++
		w.requests += 100
		w.errors += 10
		h.event(&schemas.MetricEvent{
			SchemaVersion: schemas.Version, RunID: h.run, WorkerID: w.id, Seq: w.seq,
			StartNs: h.t0 + int64(q-1)*int64(250*time.Millisecond), EndNs: h.t0 + int64(q)*int64(250*time.Millisecond),
			Endpoints: []schemas.EndpointMetrics{{Name: "slow", Method: "GET", URL: "http://127.0.0.1/", Requests: 100, Errors: 10,
				StatusCodes: map[string]uint64{"200": 90}, ErrorsByKind: map[string]uint64{schemas.ErrTimeout: 10},
				LatencyUs: append(append([][2]int64{}, ok...), failed...), ErrorLatencyUs: failed}},
		})
	}
	h.stopping(0, "")
	h.bye(w)
	res := h.result()
	if want := latency.Summary(allHist); res.Totals.LatencyMs != want || res.Endpoints[0].LatencyMs != want {
		t.Errorf("latency %+v, want every request's %+v", res.Totals.LatencyMs, want)
	}
	if want := latency.Summary(okHist); res.Totals.LatencyOkMs != want || res.Endpoints[0].LatencyOkMs != want {
		t.Errorf("latency_ok %+v / %+v, want the successful ones' %+v", res.Totals.LatencyOkMs, res.Endpoints[0].LatencyOkMs, want)
	}
	if res.Totals.LatencyMs.P99 < 1000 {
		t.Errorf("p99 %v ms leaves the timeouts out", res.Totals.LatencyMs.P99)
	}
}
