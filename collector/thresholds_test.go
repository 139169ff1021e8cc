package collector

import (
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/threshold"
	"github.com/loadforge/loadforge/schemas"
)

func parseThresholds(t *testing.T, specs ...string) []threshold.Threshold {
	t.Helper()
	var out []threshold.Threshold
	for _, s := range specs {
		th, err := threshold.ParseFlag(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, th)
	}
	return out
}

// checkEvent is one event of worker w ending at t0+end: n requests on "home"
// of latency ms each, with errs errors and the given check counts.
func checkEvent(h *harness, w *fakeWorker, end time.Duration, n, errs uint64, ms int64, passes, fails uint64) *schemas.MetricEvent {
	w.seq++
	w.requests += n
	w.errors += errs
	ep := schemas.EndpointMetrics{Name: "home", Method: "GET", URL: "http://127.0.0.1/", Requests: n, Errors: errs,
		StatusCodes: map[string]uint64{"200": n - errs}, ErrorsByKind: map[string]uint64{},
		LatencyUs: [][2]int64{{ms * 1000, int64(n)}},
		Checks:    []schemas.CheckCount{{Name: "status is 200", Passes: passes, Fails: fails}}}
	if errs > 0 {
		ep.StatusCodes["500"] = errs
		ep.ErrorsByKind[schemas.ErrHTTP5xx] = errs
	}
	return &schemas.MetricEvent{
		SchemaVersion: schemas.Version, RunID: h.run, WorkerID: w.id, Seq: w.seq,
		StartNs: h.t0 + int64(end-250*time.Millisecond), EndNs: h.t0 + int64(end),
		Iterations: n, IterationDurationUs: [][2]int64{{ms * 2000, int64(n)}},
		Endpoints: []schemas.EndpointMetrics{ep},
	}
}

// TestThresholdsOnTheMergedEvents: two workers' events are judged together;
// each threshold's states go out on the bus as its verdict changes, with a
// final one each, and the result holds the verdicts.
func TestThresholdsOnTheMergedEvents(t *testing.T) {
	ths := parseThresholds(t,
		"http_req_duration:p(95)<300",       // passes: the slow requests are 3 % of all
		"http_req_duration:max<300",         // fails
		"http_req_duration:max<300 over 2s", // fails
		"checks:rate>0.9",                   // 5 % of checks fail: passes
		"checks:rate>0.99",                  // fails
		"http_req_failed:rate<0.05",         // 2 % failed: passes
		"http_reqs:count==4000",             // passes
		"iteration_duration:max<100",        // fails: 2 × 500 ms
		"dropped_iterations:count==0",       // passes
	)
	h := newHarness(t, Config{SnapshotGrace: time.Hour, Thresholds: ths})
	states := make(chan *schemas.ThresholdState, 1000)
	if _, err := bus.Subscribe(h.pub, schemas.Subject(h.run, schemas.KindThreshold),
		func(_ string, s *schemas.ThresholdState) { states <- s }); err != nil {
		t.Fatal(err)
	}
	h.flush()
	workers := []*fakeWorker{newFakeWorker("w1", 1), newFakeWorker("w2", 2)}
	for _, w := range workers {
		h.hello(w.id)
	}
	h.running()
	// Four seconds of 4 events of 125 requests per worker (4000 in all); in
	// second 2 one event of worker 1 has its 125 requests at 500 ms.
	for s := 1; s <= 4; s++ {
		for q := 1; q <= 4; q++ {
			end := time.Duration(s-1)*time.Second + time.Duration(q)*250*time.Millisecond
			for i, w := range workers {
				ms := int64(10)
				if s == 2 && q == 1 && i == 0 {
					ms = 500
				}
				h.event(checkEvent(h, w, end, 125, 2, ms, 119, 6))
			}
		}
	}
	h.stopping(0, "")
	for _, w := range workers {
		h.bye(w)
	}
	res := h.result()
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	wantOK := []bool{true, false, false, true, false, true, true, false, true}
	if len(res.Thresholds) != len(ths) {
		t.Fatalf("result thresholds %+v", res.Thresholds)
	}
	for i, r := range res.Thresholds {
		if r.Metric != ths[i].Metric || r.Expression != ths[i].Expression || r.OK != wantOK[i] {
			t.Errorf("threshold %d: %+v, want %s %s ok=%v", i, r, ths[i].Metric, ths[i].Expression, wantOK[i])
		}
	}
	if v := res.Thresholds[6].Value; v != 4000 {
		t.Errorf("http_reqs count %v, want 4000", v)
	}
	if res.State != schemas.StateCompleted || res.AbortReason != "" {
		t.Errorf("state %q abort reason %q", res.State, res.AbortReason)
	}
	// The result goes out after the final states: every state is queued by now.
	h.flush()
	finals := map[string]*schemas.ThresholdState{}
	seen := map[string]int{}
	for len(finals) < len(ths) {
		select {
		case s := <-states:
			key := s.Metric + " " + s.Expression
			if finals[key] != nil {
				t.Fatalf("state after the final one: %+v", s)
			}
			seen[key]++
			if s.RunID != h.run || s.SchemaVersion != schemas.Version {
				t.Fatalf("state %+v", s)
			}
			if s.Final {
				finals[key] = s
			}
		case <-time.After(waitTimeout):
			t.Fatalf("got %d final states of %d", len(finals), len(ths))
		}
	}
	for i, th := range ths {
		key := th.Metric + " " + th.Expression
		if f := finals[key]; f.OK != wantOK[i] {
			t.Errorf("%s: final ok=%v", key, f.OK)
		}
		// A first live state, then the final one at least.
		if seen[key] < 2 {
			t.Errorf("%s: %d states, want a live one and the final one", key, seen[key])
		}
	}
}

func TestAbortOnFailMarksTheResult(t *testing.T) {
	ths := parseThresholds(t, "http_req_failed:rate<0.5")
	ths[0].AbortOnFail = true
	h := newHarness(t, Config{SnapshotGrace: time.Hour, Thresholds: ths})
	states := make(chan *schemas.ThresholdState, 100)
	if _, err := bus.Subscribe(h.pub, schemas.Subject(h.run, schemas.KindThreshold),
		func(_ string, s *schemas.ThresholdState) { states <- s }); err != nil {
		t.Fatal(err)
	}
	h.flush()
	w := newFakeWorker("w1", 1)
	h.hello(w.id)
	h.running()
	for q := 1; q <= 4; q++ {
		h.event(checkEvent(h, w, time.Duration(q)*250*time.Millisecond, 10, 10, 1, 0, 0))
	}
	// Second 2 opens: second 1 is published and judged.
	h.event(checkEvent(h, w, 1250*time.Millisecond, 10, 10, 1, 0, 0))
	select {
	case s := <-states:
		if !s.Aborted || s.OK || s.Final {
			t.Fatalf("first state %+v, want a live abort", s)
		}
	case <-time.After(waitTimeout):
		t.Fatal("no threshold state")
	}
	// The session answers an abort with stopping, outcome aborted.
	h.stopping(0, schemas.StateAborted)
	h.bye(w)
	res := h.result()
	if res.State != schemas.StateAborted || res.AbortReason == "" || !res.Thresholds[0].Aborted || res.Thresholds[0].OK {
		t.Fatalf("result state %q reason %q thresholds %+v", res.State, res.AbortReason, res.Thresholds)
	}
}
