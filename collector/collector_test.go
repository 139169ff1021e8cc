package collector

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

func eventRequests(ev *schemas.MetricEvent) (n uint64) {
	for _, ep := range ev.Endpoints {
		n += ep.Requests
	}
	return n
}

// checkSnapshots checks the snapshots run from 1 without gaps, that only the
// last is final, and that they add up to the result's totals.
func checkSnapshots(t *testing.T, snaps []*schemas.Snapshot, res *schemas.Result) {
	t.Helper()
	for i, s := range snaps {
		if s.Seq != uint64(i+1) || s.TS != float64(i+1) {
			t.Fatalf("snapshot %d has seq %d t_s %v", i, s.Seq, s.TS)
		}
		if s.Final != (i == len(snaps)-1) {
			t.Fatalf("snapshot %d of %d: final = %v", s.Seq, len(snaps), s.Final)
		}
		if s.RunID != res.RunID || s.SchemaVersion != schemas.Version {
			t.Fatalf("snapshot %d: run %q version %d", s.Seq, s.RunID, s.SchemaVersion)
		}
	}
	req, errs, bytesIn := sumSnapshots(snaps)
	if req != res.Totals.Requests || errs != res.Totals.Errors || bytesIn != res.Totals.BytesIn {
		t.Fatalf("snapshots sum to %d req %d err %d bytes; totals %d %d %d",
			req, errs, bytesIn, res.Totals.Requests, res.Totals.Errors, res.Totals.BytesIn)
	}
	var rows uint64
	for i, row := range res.Timeline {
		s := snaps[i]
		if row.TS != s.TS || row.Requests != s.Requests || row.Errors != s.Errors ||
			row.VUs != s.VUs || row.LatencyMs != s.LatencyMs || row.RPS != s.RPS {
			t.Fatalf("timeline row %d = %+v, snapshot = %+v", i, row, *s)
		}
		rows += row.Requests
	}
	if rows != res.Totals.Requests {
		t.Fatalf("timeline sums to %d requests, totals %d", rows, res.Totals.Requests)
	}
}

func TestMergedFiguresEqualSumOfParts(t *testing.T) {
	h := newHarness(t, Config{Name: "merge", SnapshotGrace: time.Hour})
	ref := newReference()
	workers := []*fakeWorker{newFakeWorker("w1", 1), newFakeWorker("w2", 2)}
	for _, w := range workers {
		h.hello(w.id)
	}
	h.running()
	const seconds = 4
	perSecond := map[int]uint64{}
	for s := 1; s <= seconds; s++ {
		for q := 1; q <= 4; q++ {
			end := time.Duration(s-1)*time.Second + time.Duration(q)*250*time.Millisecond
			for i, w := range workers {
				ev := w.event(h.run, h.t0, end, (i+1)*(10*s+q), ref)
				perSecond[s] += eventRequests(ev)
				h.event(ev)
			}
		}
	}
	h.stopping(0, "")
	for _, w := range workers {
		h.bye(w)
	}
	res := h.result()
	snaps := h.snapshotsThroughFinal()
	if err := h.wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}

	if res.RunID != h.run || res.Name != "merge" || res.State != schemas.StateCompleted || res.SchemaVersion != 1 {
		t.Fatalf("result header: %q %q %q %d", res.RunID, res.Name, res.State, res.SchemaVersion)
	}
	tot := res.Totals
	if tot.Requests != ref.requests || tot.Errors != ref.errors || tot.BytesIn != ref.bytesIn || tot.Iterations != ref.iters {
		t.Fatalf("totals %+v, want requests %d errors %d bytes_in %d iterations %d",
			tot, ref.requests, ref.errors, ref.bytesIn, ref.iters)
	}
	if !maps.Equal(tot.StatusCodes, ref.codes) || !maps.Equal(tot.ErrorsByKind, ref.kinds) {
		t.Fatalf("totals codes %v kinds %v, want %v %v", tot.StatusCodes, tot.ErrorsByKind, ref.codes, ref.kinds)
	}
	if want := latency.Summary(ref.total); tot.LatencyMs != want {
		t.Fatalf("total latency %+v, want %+v", tot.LatencyMs, want)
	}
	if res.DurationS != seconds || math.Abs(tot.RPS-float64(ref.requests)/seconds) > 1e-9 {
		t.Fatalf("duration %v rps %v, want %d s and %v", res.DurationS, tot.RPS, seconds, float64(ref.requests)/seconds)
	}

	if len(res.Endpoints) != len(testEndpoints) {
		t.Fatalf("%d endpoints, want %d", len(res.Endpoints), len(testEndpoints))
	}
	for i, ep := range res.Endpoints {
		if ep.Name != testEndpoints[i] { // testEndpoints is sorted by name
			t.Fatalf("endpoint %d is %q, want %q", i, ep.Name, testEndpoints[i])
		}
		re := ref.endpoints[ep.Name]
		if ep.Requests != re.requests || ep.Errors != re.errors || ep.BytesIn != re.bytesIn {
			t.Fatalf("endpoint %s: %d req %d err %d bytes, want %d %d %d",
				ep.Name, ep.Requests, ep.Errors, ep.BytesIn, re.requests, re.errors, re.bytesIn)
		}
		if want := latency.Summary(re.hist); ep.LatencyMs != want {
			t.Fatalf("endpoint %s latency %+v, want %+v", ep.Name, ep.LatencyMs, want)
		}
		if !maps.Equal(ep.StatusCodes, re.codes) || !maps.Equal(ep.ErrorsByKind, re.kinds) {
			t.Fatalf("endpoint %s codes %v kinds %v, want %v %v", ep.Name, ep.StatusCodes, ep.ErrorsByKind, re.codes, re.kinds)
		}
	}

	if len(res.Workers) != 2 {
		t.Fatalf("workers: %+v", res.Workers)
	}
	for i, w := range res.Workers {
		if w.ID != workers[i].id || w.Name != "name-"+w.ID || w.Lost || w.Requests != ref.perWorker[w.ID] || w.Errors != workers[i].errors {
			t.Fatalf("worker %d: %+v, want %s with %d requests", i, w, workers[i].id, ref.perWorker[workers[i].id])
		}
	}

	if len(res.Timeline) != seconds {
		t.Fatalf("%d timeline rows, want %d", len(res.Timeline), seconds)
	}
	for i, row := range res.Timeline {
		s := i + 1
		if row.Requests != perSecond[s] {
			t.Fatalf("second %d: %d requests, want %d", s, row.Requests, perSecond[s])
		}
		// Each worker's last event in second s had q = 4.
		if want := 1*(10*s+4) + 2*(10*s+4); row.VUs != want {
			t.Fatalf("second %d: %d VUs, want %d", s, row.VUs, want)
		}
	}
	checkSnapshots(t, snaps, res)
}

func TestLateEventGoesToOldestOpenSecond(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour})
	a, b := newFakeWorker("a", 3), newFakeWorker("b", 4)
	h.hello(a.id)
	h.hello(b.id)
	h.running()
	ms := time.Millisecond
	a1 := a.event(h.run, h.t0, 500*ms, 1, nil)
	a2 := a.event(h.run, h.t0, 1500*ms, 1, nil) // held back, sent after second 2 is out
	a3 := a.event(h.run, h.t0, 2500*ms, 1, nil)
	b1 := b.event(h.run, h.t0, 500*ms, 1, nil)
	b2 := b.event(h.run, h.t0, 2500*ms, 1, nil)
	for _, ev := range []*schemas.MetricEvent{a1, a3, b1, b2} {
		h.event(ev)
	}
	if s1 := h.waitSnapshot(1); s1.Requests != eventRequests(a1)+eventRequests(b1) {
		t.Fatalf("second 1: %d requests, want %d", s1.Requests, eventRequests(a1)+eventRequests(b1))
	}
	if s2 := h.waitSnapshot(2); s2.Requests != 0 || s2.Final {
		t.Fatalf("second 2: %+v, want an empty, non-final snapshot", *s2)
	}
	h.event(a2)
	// The final events end inside second 3, not on its edge: an event ending
	// at 3 s would let second 3 close before the stop is seen (events and
	// state arrive on separate subscriptions), and the final snapshot would
	// then be an empty second 4.
	a4 := a.event(h.run, h.t0, 2900*ms, 1, nil)
	a4.Final = true
	b3 := b.event(h.run, h.t0, 2900*ms, 1, nil)
	b3.Final = true
	h.event(a4)
	h.event(b3)
	h.stopping(time.Second, schemas.StateCompleted)
	h.bye(a)
	h.bye(b)
	res := h.result()
	snaps := h.snapshotsThroughFinal()
	if err := h.wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := a.requests + b.requests; res.Totals.Requests != want {
		t.Fatalf("totals %d requests, want %d", res.Totals.Requests, want)
	}
	if len(snaps) != 1 || snaps[0].Seq != 3 {
		t.Fatalf("after second 2 got %d snapshots, want second 3 only", len(snaps))
	}
	if want := eventRequests(a2) + eventRequests(a3) + eventRequests(b2) + eventRequests(a4) + eventRequests(b3); snaps[0].Requests != want {
		t.Fatalf("second 3: %d requests, want %d (the late event included)", snaps[0].Requests, want)
	}
	if len(res.Timeline) != 3 {
		t.Fatalf("%d timeline rows, want 3", len(res.Timeline))
	}
	var sum uint64
	for _, row := range res.Timeline {
		sum += row.Requests
	}
	if sum != res.Totals.Requests {
		t.Fatalf("timeline sums to %d, totals %d", sum, res.Totals.Requests)
	}
}

func TestDuplicateEventsCountOnce(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour})
	ref := newReference()
	w := newFakeWorker("w1", 5)
	h.hello(w.id)
	h.running()
	e1 := w.event(h.run, h.t0, 250*time.Millisecond, 1, ref)
	e2 := w.event(h.run, h.t0, 500*time.Millisecond, 1, ref)
	// A resent seq with other content must not replace the first copy either.
	forged := *e2
	forged.Endpoints = []schemas.EndpointMetrics{{Name: "home", Method: "GET", Requests: 1000}}
	for _, ev := range []*schemas.MetricEvent{e1, e1, e2, e1, &forged, e2} {
		h.event(ev)
	}
	h.stopping(0, "")
	h.bye(w)
	res := h.result()
	snaps := h.snapshotsThroughFinal()
	if res.Totals.Requests != ref.requests || res.Totals.Errors != ref.errors {
		t.Fatalf("totals %d/%d, want %d/%d", res.Totals.Requests, res.Totals.Errors, ref.requests, ref.errors)
	}
	if want := latency.Summary(ref.total); res.Totals.LatencyMs != want {
		t.Fatalf("latency %+v, want %+v", res.Totals.LatencyMs, want)
	}
	if len(res.Workers) != 1 || res.Workers[0].Requests != ref.requests || res.Workers[0].Lost {
		t.Fatalf("workers %+v", res.Workers)
	}
	if res.MalformedMessages != 0 {
		t.Fatalf("duplicates counted as malformed: %d", res.MalformedMessages)
	}
	checkSnapshots(t, snaps, res)
}

func TestMalformedMessagesAreCountedAndDropped(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour})
	ref := newReference()
	w := newFakeWorker("w1", 6)
	run := h.run
	metrics := schemas.MetricsSubject(run, w.id)
	state := schemas.Subject(run, schemas.KindState)
	hello := schemas.Subject(run, schemas.KindHello)
	bye := schemas.Subject(run, schemas.KindBye)

	mustMarshal := func(v any) []byte {
		data, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	garbage := [][]byte{
		{0xc1},                      // never valid msgpack
		{0xde, 0xad, 0xbe, 0xef, 0}, // random bytes
		mustMarshal("a string, not a map"),
		mustMarshal(map[string]any{"schema_version": 1, "seq": "not a number"}),
		mustMarshal(map[string]any{"schema_version": 99, "run_id": run}), // a future schema
		mustMarshal(map[string]any{"run_id": run}),                       // no schema_version
	}
	expected := 0
	// Garbage goes out before the valid messages on the same subjects, so the
	// collector has seen it by the time it builds the result.
	for _, subj := range []string{metrics, state, hello, bye, schemas.Subject(run, "worker.unknown")} {
		for _, g := range garbage {
			h.publishRaw(subj, g)
			expected++
		}
	}
	// Decodable but meaningless.
	h.publish(state, &schemas.SessionState{SchemaVersion: 1, RunID: "other", State: schemas.StateRunning, StartedAtNs: 1})
	h.publish(state, &schemas.SessionState{SchemaVersion: 1, RunID: run, State: schemas.StateRunning, StartedAtNs: 1})
	h.publish(hello, &schemas.WorkerHello{SchemaVersion: 1, RunID: run, WorkerID: ""})
	h.publish(hello, &schemas.WorkerHello{SchemaVersion: 1, RunID: run, WorkerID: "bad id"})
	expected += 4

	h.hello(w.id)
	h.running()
	now := time.Now().UnixNano()
	h.publish(metrics, &schemas.MetricEvent{SchemaVersion: 1, RunID: "other", WorkerID: w.id, Seq: 1, EndNs: now})
	h.publish(metrics, &schemas.MetricEvent{SchemaVersion: 1, RunID: run, WorkerID: "", Seq: 1, EndNs: now})
	h.publish(metrics, &schemas.MetricEvent{SchemaVersion: 1, RunID: run, WorkerID: "someone-else", Seq: 1, EndNs: now})
	h.publish(metrics, &schemas.MetricEvent{SchemaVersion: 1, RunID: run, WorkerID: w.id, Seq: 0, EndNs: now})
	h.publish(metrics, &schemas.MetricEvent{SchemaVersion: 1, RunID: run, WorkerID: w.id, Seq: 1 << 40, EndNs: now})
	h.publish(metrics, &schemas.MetricEvent{SchemaVersion: 1, RunID: run, WorkerID: w.id, Seq: 5, EndNs: now, VUs: -1})
	h.publish(metrics, &schemas.MetricEvent{SchemaVersion: 1, RunID: run, WorkerID: w.id, Seq: 6, EndNs: now,
		Endpoints: []schemas.EndpointMetrics{{Name: "x", LatencyUs: [][2]int64{{1000, math.MaxInt64}}}}})
	expected += 7
	// Seq 1 ends before t0: its seq is used up, its content dropped.
	h.publish(metrics, &schemas.MetricEvent{SchemaVersion: 1, RunID: run, WorkerID: w.id, Seq: 1, EndNs: h.t0 - 1,
		Endpoints: []schemas.EndpointMetrics{{Name: "home", Requests: 7}}})
	expected++
	w.seq = 1
	for q := 1; q <= 4; q++ {
		h.event(w.event(run, h.t0, time.Duration(q)*250*time.Millisecond, 2, ref))
	}
	h.stopping(0, "")
	h.bye(w)
	res := h.result()
	snaps := h.snapshotsThroughFinal()
	if err := h.wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.MalformedMessages != uint64(expected) {
		t.Fatalf("malformed %d, want %d", res.MalformedMessages, expected)
	}
	if res.Totals.Requests != ref.requests {
		t.Fatalf("totals %d requests, want %d", res.Totals.Requests, ref.requests)
	}
	if len(res.Workers) != 1 || res.Workers[0].ID != w.id || res.Workers[0].Lost {
		t.Fatalf("workers %+v", res.Workers)
	}
	checkSnapshots(t, snaps, res)
}

func TestFinalizeWaitsForAnnouncedEvents(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour, FinalizeGrace: time.Minute})
	w := newFakeWorker("w1", 7)
	h.hello(w.id)
	h.running()
	h.event(w.event(h.run, h.t0, 250*time.Millisecond, 1, nil))
	h.event(w.event(h.run, h.t0, 500*time.Millisecond, 1, nil))
	missing := w.event(h.run, h.t0, 750*time.Millisecond, 1, nil)
	missing.Final = true
	h.stopping(0, "")
	h.bye(w) // announces seq 3, which has not been sent yet
	h.flush()
	select {
	case r := <-h.results:
		t.Fatalf("result published without seq 3: %d requests", r.Totals.Requests)
	case <-time.After(300 * time.Millisecond):
	}
	h.event(missing)
	res := h.result()
	if res.Totals.Requests != w.requests {
		t.Fatalf("totals %d requests, want %d", res.Totals.Requests, w.requests)
	}
	if res.Workers[0].Lost {
		t.Fatal("worker reported lost")
	}
	checkSnapshots(t, h.snapshotsThroughFinal(), res)
}

func TestWorkerWithoutByeIsLost(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: 50 * time.Millisecond, FinalizeGrace: 200 * time.Millisecond})
	ok, silent := newFakeWorker("ok", 8), newFakeWorker("silent", 9)
	h.hello(ok.id)
	h.hello(silent.id)
	h.running()
	for q := 1; q <= 4; q++ {
		h.event(ok.event(h.run, h.t0, time.Duration(q)*250*time.Millisecond, 1, nil))
	}
	// silent never reports, yet the second goes out once its grace is over:
	// nothing else would publish it before stopping.
	first := h.waitSnapshot(1)
	h.stopping(0, schemas.StateInterrupted)
	h.bye(ok)
	res := h.result()
	checkSnapshots(t, append([]*schemas.Snapshot{first}, h.snapshotsThroughFinal()...), res)
	if err := h.wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.State != schemas.StateInterrupted {
		t.Fatalf("state %q", res.State)
	}
	if len(res.Workers) != 2 || res.Workers[0].ID != ok.id || res.Workers[0].Lost ||
		res.Workers[1].ID != silent.id || !res.Workers[1].Lost {
		t.Fatalf("workers %+v, want ok found and silent lost", res.Workers)
	}
	if res.Totals.Requests != ok.requests {
		t.Fatalf("totals %d, want %d", res.Totals.Requests, ok.requests)
	}
}

func TestEverySecondHasARow(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour})
	w := newFakeWorker("w1", 10)
	h.hello(w.id)
	h.running()
	first := w.event(h.run, h.t0, time.Second, 3, nil)
	last := w.event(h.run, h.t0, 3500*time.Millisecond, 4, nil) // the run ends half way through second 4
	last.Final = true
	h.event(first)
	h.event(last)
	h.stopping(0, "")
	h.bye(w)
	res := h.result()
	checkSnapshots(t, h.snapshotsThroughFinal(), res)
	if res.DurationS != 3.5 {
		t.Fatalf("duration %v, want 3.5", res.DurationS)
	}
	if len(res.Timeline) != 4 {
		t.Fatalf("%d rows, want 4", len(res.Timeline))
	}
	want := []uint64{eventRequests(first), 0, 0, eventRequests(last)}
	for i, row := range res.Timeline {
		if row.Requests != want[i] {
			t.Fatalf("row %d: %d requests, want %d", i, row.Requests, want[i])
		}
	}
	if got, want := res.Timeline[3].RPS, float64(eventRequests(last))/0.5; math.Abs(got-want) > 1e-9 {
		t.Fatalf("last, half second: rps %v, want %v", got, want)
	}
	if res.Timeline[0].VUs != 3 || res.Timeline[1].VUs != 0 || res.Timeline[3].VUs != 4 {
		t.Fatalf("vus %d %d %d", res.Timeline[0].VUs, res.Timeline[1].VUs, res.Timeline[3].VUs)
	}
	if res.EndedAt != formatTime(h.t0+int64(3500*time.Millisecond)) || res.StartedAt != formatTime(h.t0) {
		t.Fatalf("started %s ended %s", res.StartedAt, res.EndedAt)
	}
}

func TestCanceledRunPublishesAbortedResult(t *testing.T) {
	h := newHarness(t, Config{SnapshotGrace: time.Hour})
	w := newFakeWorker("w1", 11)
	h.hello(w.id)
	h.running()
	h.event(w.event(h.run, h.t0, 250*time.Millisecond, 1, nil))
	h.event(w.event(h.run, h.t0, 1250*time.Millisecond, 1, nil))
	// Second 1 going out proves both events were taken in.
	h.waitSnapshot(1)
	h.cancel()
	if err := h.wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	res := h.result()
	if res.State != schemas.StateAborted || res.Totals.Requests != w.requests {
		t.Fatalf("state %q requests %d, want aborted with %d", res.State, res.Totals.Requests, w.requests)
	}
	if !res.Workers[0].Lost {
		t.Fatal("a worker that never said bye is not reported lost")
	}
	if r := h.col.Result(); r == nil || r.State != schemas.StateAborted {
		t.Fatalf("Result() = %+v", r)
	}
}

func TestResultJSONHasEveryContractField(t *testing.T) {
	h := newHarness(t, Config{Name: "json", SnapshotGrace: time.Hour})
	w := newFakeWorker("w1", 12)
	h.hello(w.id)
	h.running()
	ev := w.event(h.run, h.t0, 250*time.Millisecond, 1, nil)
	// An endpoint without codes or kinds must still show empty objects.
	ev.Endpoints = append(ev.Endpoints, schemas.EndpointMetrics{Name: "zzz", Method: "GET", URL: "http://127.0.0.1/z"})
	h.event(ev)
	h.stopping(0, "")
	h.bye(w)
	data, err := json.Marshal(h.result())
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	latencyKeys := []string{"min", "mean", "p50", "p90", "p95", "p99", "p999", "max"}
	requireKeys := func(where string, v any, keys ...string) map[string]any {
		t.Helper()
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s is %T, want an object", where, v)
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Fatalf("%s lacks %q: %s", where, k, data)
			}
		}
		return m
	}
	requireArray := func(where string, v any) []any {
		t.Helper()
		a, ok := v.([]any)
		if !ok || len(a) == 0 {
			t.Fatalf("%s is %T %v, want a non-empty array", where, v, v)
		}
		return a
	}
	requireKeys("result", doc, "schema_version", "run_id", "name", "state", "started_at", "ended_at",
		"duration_s", "totals", "endpoints", "timeline", "workers", "malformed_messages")
	totals := requireKeys("totals", doc["totals"], "requests", "errors", "rps", "bytes_in", "bytes_out",
		"dropped_iterations", "latency_ms", "status_codes", "errors_by_kind")
	requireKeys("totals.latency_ms", totals["latency_ms"], latencyKeys...)
	requireKeys("totals.status_codes", totals["status_codes"])
	requireKeys("totals.errors_by_kind", totals["errors_by_kind"])
	for _, e := range requireArray("endpoints", doc["endpoints"]) {
		ep := requireKeys("endpoint", e, "name", "method", "url", "requests", "errors", "latency_ms",
			"status_codes", "errors_by_kind")
		requireKeys("endpoint.latency_ms", ep["latency_ms"], latencyKeys...)
		requireKeys("endpoint.status_codes", ep["status_codes"])
		requireKeys("endpoint.errors_by_kind", ep["errors_by_kind"])
	}
	for _, r := range requireArray("timeline", doc["timeline"]) {
		row := requireKeys("timeline row", r, "t_s", "vus", "requests", "errors", "rps", "latency_ms")
		requireKeys("timeline.latency_ms", row["latency_ms"], latencyKeys...)
	}
	for _, wr := range requireArray("workers", doc["workers"]) {
		requireKeys("worker", wr, "id", "requests", "errors", "lost")
	}
	for _, k := range []string{"started_at", "ended_at"} {
		if _, err := time.Parse(time.RFC3339, doc[k].(string)); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
}

// A run where nothing happened still ends with a final snapshot and a result
// whose lists are empty, not null.
func TestEmptyRun(t *testing.T) {
	h := newHarness(t, Config{})
	h.running()
	h.stopping(0, "")
	res := h.result()
	snaps := h.snapshotsThroughFinal()
	if len(snaps) == 0 || !snaps[len(snaps)-1].Final {
		t.Fatal("no final snapshot")
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"endpoints", "timeline", "workers"} {
		if _, ok := doc[k].([]any); !ok {
			t.Fatalf("%s is %v, want an array", k, doc[k])
		}
	}
	totals := doc["totals"].(map[string]any)
	for _, k := range []string{"status_codes", "errors_by_kind"} {
		if _, ok := totals[k].(map[string]any); !ok {
			t.Fatalf("totals.%s is %v, want an object", k, totals[k])
		}
	}
}

// Events that come before the running state wait for t0; without it, the
// collector takes t0 from the earliest event.
func TestEventsBeforeTimeZero(t *testing.T) {
	now := time.Now()
	t0 := now.Add(-2 * time.Second).UnixNano()
	const run = "r"
	subject := schemas.MetricsSubject(run, "w")
	ev := func(seq uint64, end time.Duration) *schemas.MetricEvent {
		return &schemas.MetricEvent{SchemaVersion: 1, RunID: run, WorkerID: "w", Seq: seq,
			StartNs: t0 + int64(end-250*time.Millisecond), EndNs: t0 + int64(end),
			Endpoints: []schemas.EndpointMetrics{{Name: "e", Requests: seq}}}
	}
	for _, withT0 := range []bool{true, false} {
		var snaps []*schemas.Snapshot
		a := newAggregator(aggregatorConfig{runID: run, snapshotGrace: time.Hour, finalizeGrace: time.Hour,
			emit: func(s *schemas.Snapshot) { snaps = append(snaps, s) }})
		a.handle(subject, ev(1, 250*time.Millisecond), now)
		a.handle(subject, ev(2, 1250*time.Millisecond), now)
		if withT0 {
			a.handle("", &schemas.SessionState{SchemaVersion: 1, RunID: run, State: schemas.StateRunning, StartedAtNs: t0}, now)
		}
		a.handle("", &schemas.SessionState{SchemaVersion: 1, RunID: run, State: schemas.StateStopping}, now)
		a.handle("", &schemas.WorkerBye{SchemaVersion: 1, RunID: run, WorkerID: "w", LastSeq: 2, Requests: 3}, now)
		if !a.done(now) {
			t.Fatalf("t0 given %v: not done after bye", withT0)
		}
		res := a.finalize(now, "")
		if res.Totals.Requests != 3 || len(res.Timeline) != 2 || res.Timeline[0].Requests != 1 || res.Timeline[1].Requests != 2 {
			t.Fatalf("t0 given %v: totals %d, timeline %+v", withT0, res.Totals.Requests, res.Timeline)
		}
		if res.StartedAt != formatTime(t0) {
			t.Fatalf("t0 given %v: started %s, want %s", withT0, res.StartedAt, formatTime(t0))
		}
		if len(snaps) != 2 || !snaps[1].Final {
			t.Fatalf("t0 given %v: snapshots %v", withT0, snaps)
		}
	}
}

// A harder, later stop may shorten the wait for workers but never lengthen it.
func TestLaterStopOnlyShortensTheWait(t *testing.T) {
	now := time.Now()
	a := newAggregator(aggregatorConfig{runID: "r", finalizeGrace: time.Second})
	a.handle("", &schemas.WorkerHello{SchemaVersion: 1, RunID: "r", WorkerID: "w"}, now)
	a.handle("", &schemas.SessionState{SchemaVersion: 1, RunID: "r", State: schemas.StateStopping,
		GracefulStopNs: int64(time.Minute), Outcome: schemas.StateCompleted}, now)
	if a.done(now.Add(30 * time.Second)) {
		t.Fatal("done before the graceful stop ended")
	}
	a.handle("", &schemas.SessionState{SchemaVersion: 1, RunID: "r", State: schemas.StateStopping,
		Hard: true, Outcome: schemas.StateInterrupted}, now)
	if !a.done(now.Add(2 * time.Second)) {
		t.Fatal("hard stop did not shorten the wait")
	}
	a.handle("", &schemas.SessionState{SchemaVersion: 1, RunID: "r", State: schemas.StateStopping,
		GracefulStopNs: int64(time.Hour)}, now)
	if !a.done(now.Add(2 * time.Second)) {
		t.Fatal("a later stop lengthened the wait")
	}
	if res := a.finalize(now, ""); res.State != schemas.StateInterrupted || !slices.ContainsFunc(res.Workers, func(w schemas.WorkerResult) bool { return w.Lost }) {
		t.Fatalf("state %q workers %+v", res.State, res.Workers)
	}
}

// The duration runs to the stop, or to the last request that finished after
// it, not to the end of the last interval.
func TestDurationEndsAtTheStopOrTheLastRequest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lastDone time.Duration // after t0; 0: not reported
		want     float64
	}{
		{"in-flight request finished after the stop", 4100 * time.Millisecond, 4.1},
		{"nothing in flight at the stop", 3900 * time.Millisecond, 4.0},
		{"no completion times reported", 0, 4.0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Config{SnapshotGrace: time.Hour})
			w := newFakeWorker("w1", 7)
			h.hello(w.id)
			h.running()
			last := w.event(h.run, h.t0, 4250*time.Millisecond, 2, nil)
			last.Final = true
			if tc.lastDone > 0 {
				for i := range last.Endpoints {
					last.Endpoints[i].LastDoneNs = h.t0 + int64(tc.lastDone)
				}
			}
			h.event(last)
			h.stoppingAt(h.t0+int64(4*time.Second), 0, "")
			h.bye(w)
			res := h.result()
			if math.Abs(res.DurationS-tc.want) > 1e-9 {
				t.Fatalf("duration %v, want %v", res.DurationS, tc.want)
			}
			if want := float64(res.Totals.Requests) / tc.want; math.Abs(res.Totals.RPS-want) > 1e-6 {
				t.Fatalf("rps %v, want %v", res.Totals.RPS, want)
			}
		})
	}
}
