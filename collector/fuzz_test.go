package collector

import (
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// FuzzMetricEvent feeds arbitrary bytes through the decoder and, when they
// decode, through folding, publishing and finalising: nothing may panic, and
// the snapshots must still add up to the totals.
func FuzzMetricEvent(f *testing.F) {
	const run = "fuzz"
	t0 := time.Unix(1_700_000_000, 0)
	h := latency.New()
	for _, us := range []int64{150, 900, 2500, 70_000} {
		latency.Record(h, us)
	}
	seeds := []*schemas.MetricEvent{
		{SchemaVersion: 1, RunID: run, WorkerID: "w", Seq: 1, StartNs: t0.UnixNano(), EndNs: t0.Add(250 * time.Millisecond).UnixNano(),
			VUs: 3, Iterations: 4, Endpoints: []schemas.EndpointMetrics{{Name: "a", Method: "GET", URL: "http://127.0.0.1/",
				Requests: 4, Errors: 1, BytesIn: 100, StatusCodes: map[string]uint64{"200": 3, "500": 1},
				ErrorsByKind: map[string]uint64{schemas.ErrHTTP5xx: 1}, LatencyUs: latency.Sparse(h)}}},
		{SchemaVersion: 1, RunID: run, WorkerID: "w", Seq: 2, EndNs: t0.Add(1700 * time.Millisecond).UnixNano(), Final: true,
			DroppedIterations: 3, ScheduleLagUs: [][2]int64{{5, 2}, {20_000, 1}}, Endpoints: []schemas.EndpointMetrics{{
				Name: "b", Requests: 2, LatencyUs: [][2]int64{{900, 2}}, ServiceTimeUs: [][2]int64{{400, 2}},
				ConnectingUs: [][2]int64{{120, 1}}, WaitingUs: [][2]int64{{300, 2}}, ReceivingUs: [][2]int64{{-1, 2}, {7, -3}}}}},
		{SchemaVersion: 1, RunID: run, WorkerID: "w", Seq: 3, EndNs: t0.UnixNano() - 1,
			Endpoints: []schemas.EndpointMetrics{{LatencyUs: [][2]int64{{-5, 3}, {1 << 62, 1}, {10, -1}}}}},
	}
	for _, ev := range seeds {
		data, err := schemas.Encode(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{0x80})
	f.Add([]byte{0xc1, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev schemas.MetricEvent
		if err := schemas.Decode(data, &ev); err != nil {
			return
		}
		var snaps []*schemas.Snapshot
		a := newAggregator(aggregatorConfig{runID: run, snapshotGrace: time.Second, finalizeGrace: time.Second,
			emit: func(s *schemas.Snapshot) { snaps = append(snaps, s) }})
		now := t0.Add(2 * time.Second)
		a.handle("", &schemas.SessionState{SchemaVersion: 1, RunID: run, State: schemas.StateRunning, StartedAtNs: t0.UnixNano()}, now)
		a.handle(schemas.MetricsSubject(run, ev.WorkerID), &ev, now)
		// Again as if it came from a proper worker of this run, to reach the folding.
		ev2 := ev
		ev2.RunID, ev2.WorkerID = run, "w"
		a.handle(schemas.MetricsSubject(run, "w"), &ev2, now)
		a.publishReady(now)
		ev3 := ev2
		ev3.Seq++
		a.handle(schemas.MetricsSubject(run, "w"), &ev3, now) // possibly late
		res := a.finalize(now.Add(time.Second), "")
		var sum uint64
		for _, s := range snaps {
			sum += s.Requests
		}
		if sum != res.Totals.Requests {
			t.Fatalf("snapshots add up to %d, totals %d", sum, res.Totals.Requests)
		}
	})
}

// BenchmarkFold folds one event of three endpoints, each with a realistic
// sparse latency histogram (a 250 ms interval at a few thousand requests/s).
func BenchmarkFold(b *testing.B) {
	const run = "bench"
	start := time.Unix(1_700_000_000, 0)
	a := newAggregator(aggregatorConfig{runID: run, snapshotGrace: time.Second, finalizeGrace: time.Second})
	a.handle("", &schemas.SessionState{SchemaVersion: 1, RunID: run, State: schemas.StateRunning, StartedAtNs: start.UnixNano()}, start)
	w := newFakeWorker("w", 42)
	template := w.event(run, start.UnixNano(), 250*time.Millisecond, 50, nil)
	for i := range template.Endpoints {
		h := latency.New()
		for range 1000 {
			latency.Record(h, int64(2000+w.rng.NormFloat64()*500+w.rng.ExpFloat64()*3000))
		}
		template.Endpoints[i].LatencyUs = latency.Sparse(h)
	}
	subject := schemas.MetricsSubject(run, "w")
	pairs := 0
	for _, ep := range template.Endpoints {
		pairs += len(ep.LatencyUs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ev := *template
		ev.Seq = uint64(i + 1)
		end := start.Add(time.Duration(i+1) * 250 * time.Millisecond)
		ev.EndNs = end.UnixNano()
		a.handle(subject, &ev, end)
		a.publishReady(end) // one second per four events goes out, as in a run
	}
	b.ReportMetric(float64(pairs)/float64(len(template.Endpoints)), "pairs/endpoint")
}
