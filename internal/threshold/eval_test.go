package threshold

import (
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

func mustParse(t *testing.T, metric, expr string) Threshold {
	t.Helper()
	th, err := Parse(metric, expr)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// ev is one event with one endpoint: n requests of latency ms each, errs of them failed.
func ev(name string, n, errs uint64, ms int64) *schemas.MetricEvent {
	ep := schemas.EndpointMetrics{Name: name, Method: "GET", Requests: n, Errors: errs,
		StatusCodes: map[string]uint64{}}
	if n > 0 {
		ep.LatencyUs = [][2]int64{{ms * 1000, int64(n)}}
		ep.StatusCodes["200"] = n - errs
		if errs > 0 {
			ep.StatusCodes["500"] = errs
		}
	}
	return &schemas.MetricEvent{Endpoints: []schemas.EndpointMetrics{ep}}
}

// run feeds one event per second and returns every published state and the final results.
func run(set *Set, events []*schemas.MetricEvent) ([]schemas.ThresholdState, []schemas.ThresholdResult) {
	var states []schemas.ThresholdState
	for i, e := range events {
		k := uint64(i + 1)
		set.Add(k, e)
		states = append(states, set.Close(k, 1, int64(k))...)
	}
	final, res := set.Final(float64(len(events)), int64(len(events)+1))
	return append(states, final...), res
}

func TestWholeRunVerdictIsTheFinalOne(t *testing.T) {
	// A slow first second, then nine fast ones: p(90) of the run is fast.
	events := []*schemas.MetricEvent{ev("a", 10, 0, 900)}
	for range 9 {
		events = append(events, ev("a", 100, 0, 10))
	}
	set := NewSet([]Threshold{mustParse(t, "http_req_duration", "p(90)<100")})
	states, res := run(set, events)
	if !res[0].OK || res[0].Value < 10 || res[0].Value > 10.1 {
		t.Errorf("result %+v, want ok with value 10 (to HDR's precision)", res[0])
	}
	// Live: failed in second 1, passing from second 2; final passing.
	want := []bool{false, true, true}
	if len(states) != len(want) {
		t.Fatalf("states %+v, want %d", states, len(want))
	}
	for i, s := range states {
		if s.OK != want[i] {
			t.Errorf("state %d ok=%v, want %v", i, s.OK, want[i])
		}
	}
	if !states[2].Final || states[0].Final {
		t.Errorf("only the last state is final: %+v", states)
	}
}

func TestWindowFailsWhereWholeRunPasses(t *testing.T) {
	events := []*schemas.MetricEvent{ev("a", 10, 0, 900), ev("a", 10, 0, 900)}
	for range 18 {
		events = append(events, ev("a", 100, 0, 10))
	}
	whole := mustParse(t, "http_req_duration", "p(90)<100")
	window := mustParse(t, "http_req_duration", "p(90)<100 over 5s")
	_, res := run(NewSet([]Threshold{whole, window}), events)
	if !res[0].OK {
		t.Errorf("whole run: %+v, want ok", res[0])
	}
	if res[1].OK || res[1].Value < 900 {
		t.Errorf("window: %+v, want failed with the worst window's value ≥ 900", res[1])
	}
}

func TestPersistence(t *testing.T) {
	// Errors in seconds 3-5 (3 s), then again in 8-12 (5 s).
	var events []*schemas.MetricEvent
	for k := 1; k <= 14; k++ {
		errs := uint64(0)
		if (k >= 3 && k <= 5) || (k >= 8 && k <= 12) {
			errs = 50
		}
		events = append(events, ev("a", 100, errs, 1))
	}
	cases := []struct {
		expr   string
		wantOK bool
	}{
		{"rate<0.1 over 1s", false},
		{"rate<0.1 over 1s for 3s", false},
		{"rate<0.1 over 1s for 5s", false},
		{"rate<0.1 over 1s for 6s", true},
	}
	for _, c := range cases {
		_, res := run(NewSet([]Threshold{mustParse(t, "http_req_failed", c.expr)}), events)
		if res[0].OK != c.wantOK {
			t.Errorf("%s: ok=%v, want %v (value %g)", c.expr, res[0].OK, c.wantOK, res[0].Value)
		}
	}
}

func TestForPublishesOnlyOnceTheBreachLasted(t *testing.T) {
	var events []*schemas.MetricEvent
	for k := 1; k <= 6; k++ {
		errs := uint64(0)
		if k >= 2 {
			errs = 100
		}
		events = append(events, ev("a", 100, errs, 1))
	}
	set := NewSet([]Threshold{mustParse(t, "http_req_failed", "rate<0.5 over 1s for 3s")})
	var failedAt uint64
	for i, e := range events {
		k := uint64(i + 1)
		set.Add(k, e)
		for _, s := range set.Close(k, 1, int64(k)) {
			if !s.OK && failedAt == 0 {
				failedAt = k
			}
		}
	}
	// Breached from second 2: it has lasted 3 s at the end of second 4.
	if failedAt != 4 {
		t.Errorf("first failing state at second %d, want 4", failedAt)
	}
}

func TestAggregationsAndFilters(t *testing.T) {
	e := &schemas.MetricEvent{
		DroppedIterations:   7,
		IterationDurationUs: [][2]int64{{2_000_000, 3}},
		Endpoints: []schemas.EndpointMetrics{
			{Name: "a", Method: "GET", Requests: 4, Errors: 1, StatusCodes: map[string]uint64{"200": 3, "503": 1},
				LatencyUs: [][2]int64{{10_000, 2}, {30_000, 2}}, WaitingUs: [][2]int64{{5_000, 4}},
				Checks: []schemas.CheckCount{{Name: "ok", Passes: 3, Fails: 1}}},
			{Name: "b", Method: "POST", Requests: 6, StatusCodes: map[string]uint64{"201": 6},
				LatencyUs: [][2]int64{{100_000, 6}}, ServiceTimeUs: [][2]int64{{50_000, 6}},
				Checks: []schemas.CheckCount{{Name: "ok", Passes: 6}}},
		},
	}
	cases := []struct {
		metric, expr string
		want         float64
	}{
		{"http_req_duration", "max<1", 100},
		{"http_req_duration", "min<1", 10},
		{"http_req_duration{endpoint:a}", "avg<1", 20},
		{"http_req_duration{method:post}", "med<1", 100},
		{"http_req_duration{endpoint:a}", "p(50)<1", 10},
		{"service_time", "max<1", 50},
		{"service_time{endpoint:a}", "max<1", 30},
		{"http_req_waiting", "max<1", 5},
		{"iteration_duration", "p(99)<1", 2000},
		{"http_req_failed", "rate<0", 0.1},
		{"http_req_failed{endpoint:a}", "rate<0", 0.25},
		{"checks", "rate<0", 0.9},
		{"http_reqs", "count<0", 10},
		{"http_reqs", "rate<0", 5}, // 10 requests in 2 s
		{"http_reqs{status:503}", "count<0", 1},
		{"http_reqs{endpoint:b}", "count<0", 6},
		{"dropped_iterations", "count<0", 7},
	}
	for _, c := range cases {
		set := NewSet([]Threshold{mustParse(t, c.metric, c.expr)})
		set.Add(1, e)
		set.Close(1, 1, 1)
		set.Close(2, 1, 2)
		_, res := set.Final(2, 3)
		// HDR buckets hold 3 significant digits.
		if d := res[0].Value - c.want; d < -c.want/500 || d > c.want/500 {
			t.Errorf("%s %s = %g, want %g", c.metric, c.expr, res[0].Value, c.want)
		}
	}
}

func TestNoDataPassesButCountsCount(t *testing.T) {
	set := NewSet([]Threshold{
		mustParse(t, "http_req_duration{endpoint:none}", "p(95)<1"),
		mustParse(t, "checks", "rate>0.99"),
		mustParse(t, "http_reqs{endpoint:none}", "count>0"),
	})
	_, res := run(set, []*schemas.MetricEvent{ev("a", 5, 0, 1)})
	if !res[0].OK || !res[1].OK || res[2].OK {
		t.Errorf("results %+v: want pass, pass, fail", res)
	}
}

func TestAbortOnFail(t *testing.T) {
	th := mustParse(t, "http_req_failed", "rate<0.5")
	th.AbortOnFail = true
	th.DelayAbortEval = 3_000_000_000
	other := mustParse(t, "http_reqs", "count>0")
	other.AbortOnFail = true
	set := NewSet([]Threshold{th, other})
	abortedAt := uint64(0)
	for k := uint64(1); k <= 6; k++ {
		set.Add(k, ev("a", 10, 10, 1))
		for _, s := range set.Close(k, 1, int64(k)) {
			if s.Aborted && abortedAt == 0 {
				abortedAt = k
				if s.Metric != "http_req_failed" || s.OK {
					t.Errorf("abort state %+v", s)
				}
			}
		}
	}
	if abortedAt != 3 {
		t.Errorf("aborted at second %d, want 3 (delay_abort_eval)", abortedAt)
	}
	if set.AbortReason() == "" {
		t.Error("no abort reason")
	}
	_, res := set.Final(6, 7)
	if res[0].OK || !res[0].Aborted || !res[1].OK || res[1].Aborted {
		t.Errorf("results %+v", res)
	}
}

func TestLateEventCountsInNextOpenSecond(t *testing.T) {
	set := NewSet([]Threshold{mustParse(t, "http_reqs", "count>0")})
	set.Close(1, 1, 1)
	set.Add(1, ev("a", 3, 0, 1)) // second 1 is closed
	set.Close(2, 1, 2)
	_, res := set.Final(2, 3)
	if res[0].Value != 3 {
		t.Errorf("count %g, want 3", res[0].Value)
	}
}

// TestRateOverAPartialLastSecond: the run's last second may be short; a
// rate counts its real length, in a window as over the whole run.
func TestRateOverAPartialLastSecond(t *testing.T) {
	set := NewSet([]Threshold{
		mustParse(t, "http_reqs", "rate>=100 over 2s"),
		mustParse(t, "http_reqs", "rate>=100"),
	})
	set.Add(1, ev("a", 100, 0, 1))
	set.Close(1, 1, 1)
	set.Add(2, ev("a", 50, 0, 1)) // 50 requests in the last half second
	states := set.Close(2, 0.5, 2)
	_, res := set.Final(1.5, 3)
	for i, r := range res {
		if !r.OK || r.Value < 99.9 || r.Value > 100.1 {
			t.Errorf("threshold %d: %+v, want 100/s", i, r)
		}
	}
	for _, s := range states {
		if !s.OK {
			t.Errorf("live state %+v", s)
		}
	}
}

func TestNoAbortOnceStopping(t *testing.T) {
	th := mustParse(t, "http_req_failed", "rate<0.5")
	th.AbortOnFail = true
	set := NewSet([]Threshold{th})
	set.Stopping()
	set.Add(1, ev("a", 10, 10, 1))
	for _, s := range set.Close(1, 1, 1) {
		if s.Aborted || s.OK {
			t.Errorf("state %+v: want failed, not aborted", s)
		}
	}
	_, res := set.Final(1, 2)
	if res[0].OK || res[0].Aborted || set.AbortReason() != "" {
		t.Errorf("result %+v, reason %q", res[0], set.AbortReason())
	}
}
