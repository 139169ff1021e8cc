package collector

import (
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// A closed model sends no service time: the result's service time is then the
// latency, figure for figure, for each endpoint and the totals.
func TestClosedModelServiceTimeIsTheLatency(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour})
	w := newFakeWorker("w1", 3)
	h.hello(w.id)
	h.running()
	for q := 1; q <= 8; q++ {
		h.event(w.event(h.run, h.t0, time.Duration(q)*250*time.Millisecond, 2, nil))
	}
	h.stopping(0, "")
	h.bye(w)
	res := h.result()
	if res.Totals.Requests == 0 {
		t.Fatal("no requests")
	}
	if res.Totals.ServiceTimeMs != res.Totals.LatencyMs {
		t.Errorf("totals: service %+v, latency %+v", res.Totals.ServiceTimeMs, res.Totals.LatencyMs)
	}
	for _, e := range res.Endpoints {
		if e.ServiceTimeMs != e.LatencyMs {
			t.Errorf("%s: service %+v, latency %+v", e.Name, e.ServiceTimeMs, e.LatencyMs)
		}
	}
	if res.Totals.ScheduleLagMs != nil || len(res.Warnings) != 0 {
		t.Errorf("a closed model has schedule lag %+v, warnings %q", res.Totals.ScheduleLagMs, res.Warnings)
	}
}

// sparse records each value (µs) into a histogram made by mk and returns its sparse form.
func sparse(mk func() *hdrhistogram.Histogram, us ...int64) [][2]int64 {
	h := mk()
	for _, v := range us {
		latency.Record(h, v)
	}
	return latency.Sparse(h)
}

// An open model's figures: the service time and breakdown per endpoint and
// in all, the schedule lag, dropped iterations in every view, and a warning
// for each way the generator fell behind.
func TestOpenModelFigures(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour})
	h.hello("w1")
	h.running()
	endpoint := func(name string, latencyUs, serviceUs []int64) schemas.EndpointMetrics {
		return schemas.EndpointMetrics{
			Name: name, Method: "GET", URL: "http://127.0.0.1/" + name,
			Requests: uint64(len(latencyUs)), StatusCodes: map[string]uint64{"200": uint64(len(latencyUs))},
			LatencyUs:        sparse(latency.New, latencyUs...),
			ServiceTimeUs:    sparse(latency.New, serviceUs...),
			ConnectingUs:     sparse(newBreakdownHist, 300),
			WaitingUs:        sparse(newBreakdownHist, serviceUs...),
			ReceivingUs:      sparse(newBreakdownHist, 20, 20),
			TLSHandshakingUs: nil,
		}
	}
	events := []*schemas.MetricEvent{
		{Seq: 1, EndNs: h.t0 + int64(500*time.Millisecond), Iterations: 2, DroppedIterations: 0,
			ScheduleLagUs: sparse(latency.New, 10, 20),
			Endpoints:     []schemas.EndpointMetrics{endpoint("a", []int64{5_000, 90_000}, []int64{5_000, 40_000})}},
		{Seq: 2, EndNs: h.t0 + int64(1500*time.Millisecond), Iterations: 1, DroppedIterations: 7,
			ScheduleLagUs: sparse(latency.New, 30_000, 30_000, 30_000),
			Endpoints:     []schemas.EndpointMetrics{endpoint("b", []int64{60_000}, []int64{2_000})}},
	}
	for _, ev := range events {
		ev.SchemaVersion, ev.RunID, ev.WorkerID, ev.StartNs = schemas.Version, h.run, "w1", ev.EndNs-int64(250*time.Millisecond)
		h.event(ev)
	}
	h.stopping(0, "")
	h.publish(schemas.Subject(h.run, schemas.KindBye), &schemas.WorkerBye{SchemaVersion: schemas.Version,
		RunID: h.run, WorkerID: "w1", LastSeq: 2, Requests: 3})
	snaps := h.snapshotsThroughFinal()
	res := h.result()

	want := func(mk func() *hdrhistogram.Histogram, us ...int64) schemas.LatencyMs {
		hist := mk()
		for _, v := range us {
			latency.Record(hist, v)
		}
		return latency.Summary(hist)
	}
	tot := res.Totals
	if got := tot.ServiceTimeMs; got != want(latency.New, 5_000, 40_000, 2_000) {
		t.Errorf("service time %+v", got)
	}
	if got := tot.LatencyMs; got != want(latency.New, 5_000, 90_000, 60_000) {
		t.Errorf("latency %+v", got)
	}
	tm := tot.TimingsMs
	if tm.NewConnections != 2 || tm.Connecting != want(newBreakdownHist, 300, 300) ||
		tm.Waiting != want(newBreakdownHist, 5_000, 40_000, 2_000) || tm.Receiving != want(newBreakdownHist, 20, 20, 20, 20) ||
		tm.TLSHandshaking != (schemas.LatencyMs{}) {
		t.Errorf("timings %+v", tm)
	}
	for _, e := range res.Endpoints {
		if e.Name == "b" && (e.ServiceTimeMs != want(latency.New, 2_000) || e.TimingsMs.NewConnections != 1) {
			t.Errorf("endpoint b: service %+v, timings %+v", e.ServiceTimeMs, e.TimingsMs)
		}
	}
	if lag := tot.ScheduleLagMs; lag == nil || *lag != want(latency.New, 10, 20, 30_000, 30_000, 30_000) {
		t.Errorf("schedule lag %+v", lag)
	}

	// Dropped iterations: in the totals, the second's snapshot and its row.
	if tot.DroppedIterations != 7 || len(snaps) < 2 || snaps[1].DroppedIterations != 7 ||
		len(res.Timeline) < 2 || res.Timeline[1].DroppedIterations != 7 || snaps[0].DroppedIterations != 0 {
		t.Errorf("dropped: totals %d, snapshots %+v, timeline %+v", tot.DroppedIterations, snaps, res.Timeline)
	}
	if len(res.Warnings) != 2 || !strings.Contains(res.Warnings[0], "7 of 10 iterations dropped") ||
		!strings.Contains(res.Warnings[1], "30.0 ms late at p99") {
		t.Errorf("warnings %q", res.Warnings)
	}
}
