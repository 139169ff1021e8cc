package threshold

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct {
		metric, expr string
		want         Threshold
	}{
		{"http_req_duration", "p(95)<200", Threshold{Name: HTTPReqDuration, Agg: AggP, Percentile: 95, Op: "<", Value: 200}},
		{"http_req_duration", "p(99.9) <= 500ms", Threshold{Name: HTTPReqDuration, Agg: AggP, Percentile: 99.9, Op: "<=", Value: 500}},
		{"http_req_duration{endpoint:login}", "max<1s", Threshold{Name: HTTPReqDuration, Endpoint: "login", Agg: AggMax, Op: "<", Value: 1000}},
		{"http_req_duration{endpoint: GET /, method:get}", "avg<250us", Threshold{Name: HTTPReqDuration, Endpoint: "GET /", Method: "GET", Agg: AggAvg, Op: "<", Value: 0.25}},
		{"iteration_duration", "med>=1.5m", Threshold{Name: IterationDuration, Agg: AggMed, Op: ">=", Value: 90_000}},
		{"http_req_failed", "rate<0.01", Threshold{Name: HTTPReqFailed, Agg: AggRate, Op: "<", Value: 0.01}},
		{"checks", "rate>0.99", Threshold{Name: Checks, Agg: AggRate, Op: ">", Value: 0.99}},
		{"http_reqs", "count>1000", Threshold{Name: HTTPReqs, Agg: AggCount, Op: ">", Value: 1000}},
		{"http_reqs{status:500}", "count==0", Threshold{Name: HTTPReqs, Status: "500", Agg: AggCount, Op: "==", Value: 0}},
		{"http_reqs", "rate!=3", Threshold{Name: HTTPReqs, Agg: AggRate, Op: "!=", Value: 3}},
		{"dropped_iterations", "count==0", Threshold{Name: DroppedIterations, Agg: AggCount, Op: "==", Value: 0}},
		{"http_req_waiting", "p(95)<150", Threshold{Name: HTTPReqWaiting, Agg: AggP, Percentile: 95, Op: "<", Value: 150}},
		{"http_req_connecting", "max<10", Threshold{Name: HTTPReqConnecting, Agg: AggMax, Op: "<", Value: 10}},
		{"http_req_tls_handshaking", "min>0", Threshold{Name: HTTPReqTLSHandshaking, Agg: AggMin, Op: ">", Value: 0}},
		{"http_req_receiving", "p(50)<1", Threshold{Name: HTTPReqReceiving, Agg: AggP, Percentile: 50, Op: "<", Value: 1}},
		{"service_time", "p(99)<300", Threshold{Name: ServiceTime, Agg: AggP, Percentile: 99, Op: "<", Value: 300}},
		{"http_req_duration", "p(95)<200 over 30s", Threshold{Name: HTTPReqDuration, Agg: AggP, Percentile: 95, Op: "<", Value: 200, Window: 30 * time.Second}},
		{"http_req_duration", "p(95)<200 over 1m for 10s", Threshold{Name: HTTPReqDuration, Agg: AggP, Percentile: 95, Op: "<", Value: 200, Window: time.Minute, For: 10 * time.Second}},
		{"http_req_failed", "rate<0.1 for 5s", Threshold{Name: HTTPReqFailed, Agg: AggRate, Op: "<", Value: 0.1, For: 5 * time.Second}},
	}
	for _, c := range cases {
		got, err := Parse(c.metric, c.expr)
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", c.metric, c.expr, err)
			continue
		}
		c.want.Metric, c.want.Expression = strings.TrimSpace(c.metric), strings.TrimSpace(c.expr)
		if got != c.want {
			t.Errorf("Parse(%q, %q)\n got %+v\nwant %+v", c.metric, c.expr, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ metric, expr, want string }{
		{"http_req_duraton", "p(95)<200", `unknown metric "http_req_duraton"`},
		{"http_req_duration{name:login}", "p(95)<200", `unknown tag "name"`},
		{"http_req_duration{status:200}", "p(95)<200", `unknown tag "status"`},
		{"dropped_iterations{endpoint:x}", "count==0", "takes no tags"},
		{"http_req_duration{endpoint}", "p(95)<200", "want tag:value"},
		{"http_req_duration{endpoint:a", "p(95)<200", "one pair of braces"},
		{"http_req_duration{}", "p(95)<200", "empty tags"},
		{"http_req_duration{endpoint:a,endpoint:b}", "p(95)<200", "given twice"},
		{"http_reqs{status:abc}", "count>1", "not an HTTP status code"},
		{"http_req_duration", "p95<200", `aggregation "p95" does not apply`},
		{"http_req_duration", "rate<200", `aggregation "rate" does not apply`},
		{"http_req_failed", "p(95)<0.1", `aggregation "p(95)" does not apply`},
		{"http_reqs", "avg>3", `aggregation "avg" does not apply`},
		{"http_req_duration", "p(0)<200", "0 < N ≤ 100"},
		{"http_req_duration", "p(101)<200", "0 < N ≤ 100"},
		{"http_req_duration", "p(95)", "no operator"},
		{"http_req_duration", "", "empty expression"},
		{"http_req_duration", "<200", "no aggregation"},
		{"http_req_duration", "p(95)<", "no value"},
		{"http_req_duration", "p(95)<fast", "not a number"},
		{"http_req_duration", "p(95)<200h", `unknown unit "h"`},
		{"http_req_failed", "rate<1%", "not a number"},
		{"http_reqs", "count>10s", "without a unit"},
		{"http_req_duration", "p(95)<200 over", `unexpected "over"`},
		{"http_req_duration", "p(95)<200 over 1500ms", "whole seconds"},
		{"http_req_duration", "p(95)<200 over -1s", "positive duration"},
		{"http_req_duration", "p(95)<200 for 1s over 5s", `unexpected "over 5s"`},
		{"http_req_duration", "p(95)<200 and more", `unexpected "and more"`},
	}
	for _, c := range cases {
		_, err := Parse(c.metric, c.expr)
		if err == nil {
			t.Errorf("Parse(%q, %q): no error, want %q", c.metric, c.expr, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q, %q): %q, want one line containing %q", c.metric, c.expr, err, c.want)
		}
	}
}

func TestParseFlag(t *testing.T) {
	got, err := ParseFlag("http_req_duration{endpoint:login}:p(95)<200")
	if err != nil {
		t.Fatal(err)
	}
	if got.Metric != "http_req_duration{endpoint:login}" || got.Expression != "p(95)<200" || got.Endpoint != "login" {
		t.Errorf("got %+v", got)
	}
	if _, err := ParseFlag("http_req_duration p(95)<200"); err == nil || !strings.Contains(err.Error(), "METRIC:EXPRESSION") {
		t.Errorf("no colon: %v", err)
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		op       string
		v, bound float64
		want     bool
	}{
		{"<", 1, 2, true}, {"<", 2, 2, false}, {"<=", 2, 2, true}, {"<=", 3, 2, false},
		{">", 3, 2, true}, {">", 2, 2, false}, {">=", 2, 2, true}, {">=", 1, 2, false},
		{"==", 2, 2, true}, {"==", 1, 2, false}, {"!=", 1, 2, true}, {"!=", 2, 2, false},
	} {
		th := Threshold{Op: c.op, Value: c.bound}
		if got := th.Check(c.v); got != c.want {
			t.Errorf("%g %s %g = %v, want %v", c.v, c.op, c.bound, got, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"http_req_duration:p(95)<200", "http_reqs{status:500}:count==0", "checks:rate>0.99 over 30s for 10s",
		"http_req_duration{endpoint:a,method:GET}:max<1.5s", "x:{", "http_req_failed:rate<0.01 for 1m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseFlag(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if _, ok := metrics[th.Name]; !ok {
			t.Fatalf("accepted unknown metric %q", th.Name)
		}
		if th.Window < 0 || th.For < 0 || th.Window%time.Second != 0 {
			t.Fatalf("bad window %v / for %v", th.Window, th.For)
		}
		// A parsed threshold parses again to itself.
		again, err := Parse(th.Metric, th.Expression)
		if err != nil || again != th {
			t.Fatalf("reparse of %+v: %+v, %v", th, again, err)
		}
		_ = th.Check(th.Value)
	})
}
