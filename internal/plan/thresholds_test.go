package plan

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

const thresholdPlan = `base_url: http://127.0.0.1:8080
scenario:
  tasks:
    - requests:
        - {name: login, path: /login}
        - {name: search, path: /search}
load: {vus: 1, duration: 1s}
thresholds:
  http_req_duration: ["p(95)<200", "p(99)<500ms"]
  http_req_failed: "rate<0.01"
  "http_req_duration{endpoint:login}": ["max<1s"]
  http_req_duration{endpoint:search}:
    - {threshold: "p(99)<300 over 30s for 10s", abort_on_fail: true, delay_abort_eval: 10s}
`

func TestPlanThresholds(t *testing.T) {
	raw, err := Parse([]byte(thresholdPlan), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Apply([]Override{{Key: KeyThresholds, Values: []string{"http_reqs{status:500}:count==0"}, Origin: "--threshold"}}); err != nil {
		t.Fatal(err)
	}
	p, err := raw.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		metric, expr string
		value        float64
		abort        bool
	}{
		{"http_req_duration", "p(95)<200", 200, false},
		{"http_req_duration", "p(99)<500ms", 500, false},
		{"http_req_failed", "rate<0.01", 0.01, false},
		{"http_req_duration{endpoint:login}", "max<1s", 1000, false},
		{"http_req_duration{endpoint:search}", "p(99)<300 over 30s for 10s", 300, true},
		{"http_reqs{status:500}", "count==0", 0, false},
	}
	if len(p.Thresholds) != len(want) {
		t.Fatalf("thresholds %+v", p.Thresholds)
	}
	for i, w := range want {
		got := p.Thresholds[i]
		if got.Metric != w.metric || got.Expression != w.expr || got.Value != w.value || got.AbortOnFail != w.abort {
			t.Errorf("threshold %d: %+v, want %+v", i, got, w)
		}
	}
	last := p.Thresholds[4]
	if last.DelayAbortEval != 10*time.Second || last.Window != 30*time.Second || last.For != 10*time.Second {
		t.Errorf("abort threshold %+v", last)
	}
}

// TestPlanThresholdErrors: every bad threshold is reported, each on its own
// line naming its file and line.
func TestPlanThresholdErrors(t *testing.T) {
	bad := []string{
		`  http_req_duraton: ["p(95)<200"]`,
		`  http_req_duration: ["p95<200"]`,
		`  http_req_waiting: ["p(95)<"]`,
		`  http_req_receiving: ["p(95)<200h"]`,
		`  "http_req_duration{endpoint:nope}": ["max<1s"]`,
		`  "http_req_duration{name:login}": ["max<1s"]`,
		`  http_req_failed: ["rate<1%"]`,
		`  http_reqs: ["count>10s"]`,
		`  checks: ["rate>0.99 over 1500ms"]`,
		`  service_time: [{threshold: "p(99)>", abort_on_fail: true}]`,
	}
	head := strings.SplitAfter(thresholdPlan, "thresholds:\n")[0]
	doc := head + strings.Join(bad, "\n") + "\n"
	firstLine := strings.Count(head, "\n") + 1
	raw, err := Parse([]byte(doc), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = raw.Build()
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Build: %v, want plan.Errors", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(errs) != len(bad) || len(lines) != len(bad) {
		t.Fatalf("%d errors:\n%s", len(errs), err)
	}
	for i, e := range errs {
		if want := "t.yaml:" + itoa(firstLine+i) + ": thresholds."; !strings.HasPrefix(e.Error(), want) {
			t.Errorf("error %d %q, want it to start with %q", i, e, want)
		}
	}
}

func TestPlanThresholdDecodeErrors(t *testing.T) {
	head := strings.SplitAfter(thresholdPlan, "thresholds:\n")[0]
	for _, c := range []struct{ body, want string }{
		{`  http_req_duration: [{abort_on_fail: true}]`, "want threshold: EXPRESSION"},
		{`  http_req_duration: [{threshold: "p(95)<1", abort_on_fail: maybe}]`, "abort_on_fail"},
		{`  http_req_duration: [{threshold: "p(95)<1", delay: 1s}]`, "unknown field"},
		{`  http_req_duration: [{threshold: "p(95)<1", delay_abort_eval: 10}]`, "delay_abort_eval"},
		{`  http_req_duration: [["p(95)<1"]]`, "want an expression"},
	} {
		_, err := Parse([]byte(head+c.body+"\n"), "t.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "t.yaml:") {
			t.Errorf("%s: %v, want an error naming t.yaml and %q", c.body, err, c.want)
		}
	}
}

func TestThresholdOverrideErrors(t *testing.T) {
	raw, err := Parse([]byte(thresholdPlan), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Apply([]Override{{Key: KeyThresholds, Values: []string{"p(95)<200", "http_req_duration:p(95)<<1"}, Origin: "LOADFORGE_THRESHOLD"}}); err != nil {
		t.Fatal(err)
	}
	_, err = raw.Build()
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 2 {
		t.Fatalf("Build: %v", err)
	}
	for _, e := range errs {
		if !strings.HasPrefix(e.Where, "LOADFORGE_THRESHOLD ") {
			t.Errorf("error %q does not name the variable", e)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
