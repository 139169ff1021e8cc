package session

import (
	"bytes"
	"strings"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

func TestSummaryListsThresholdsAfterTheTotals(t *testing.T) {
	var b bytes.Buffer
	printSummary(&b, &schemas.Result{
		Name: "v", State: schemas.StateAborted,
		Totals:      schemas.Totals{Requests: 10, Errors: 10},
		Endpoints:   []schemas.EndpointResult{{Name: "home", Requests: 10, Errors: 10}},
		AbortReason: "threshold http_req_failed rate<0.5 failed (value 1.0000)",
		Thresholds: []schemas.ThresholdResult{
			{Metric: "http_req_duration", Expression: "p(95)<200", OK: true, Value: 12.5},
			{Metric: "http_req_failed", Expression: "rate<0.5", OK: false, Value: 1, AbortOnFail: true, Aborted: true},
			{Metric: "http_reqs", Expression: "rate>5", OK: true, Value: 7.25},
		},
	})
	s := b.String()
	for _, want := range []string{
		"thresholds  2 of 3 passed",
		"✓ http_req_duration p(95)<200  12.5ms",
		"✗ http_req_failed rate<0.5     1.0000  (aborted the run)",
		"✓ http_reqs rate>5             7.25/s",
		"aborted     threshold http_req_failed",
		"WARNING: every request failed (10 of 10)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if i, j := strings.Index(s, "error kinds"), strings.Index(s, "thresholds"); !(i < j && j < strings.Index(s, "endpoint ")) {
		t.Errorf("thresholds not between the totals and the endpoints:\n%s", s)
	}
}

func TestProgressNotesChangesOfVerdict(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, false)
	for _, ok := range []bool{true, true, false, false, true} {
		p.threshold(&schemas.ThresholdState{Metric: "http_req_duration", Expression: "p(95)<200 over 5s", OK: ok, Value: 300})
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "✗ threshold http_req_duration p(95)<200 over 5s failing (300ms)") ||
		!strings.HasPrefix(lines[1], "✓ threshold http_req_duration p(95)<200 over 5s holds again") {
		t.Errorf("notes:\n%s", b.String())
	}
}

func TestSummaryGivesTheSuccessfulLatencyWhenSomeFailed(t *testing.T) {
	var b bytes.Buffer
	printSummary(&b, &schemas.Result{Name: "v", Totals: schemas.Totals{Requests: 10, Errors: 2,
		LatencyMs: schemas.LatencyMs{P50: 1000}, LatencyOkMs: schemas.LatencyMs{P50: 12}}})
	if !strings.Contains(b.String(), "latency ok  min 0.00ms  mean 0.00ms  p50 12.0ms") {
		t.Errorf("summary:\n%s", b.String())
	}
	b.Reset()
	printSummary(&b, &schemas.Result{Name: "v", Totals: schemas.Totals{Requests: 10}})
	if strings.Contains(b.String(), "latency ok") {
		t.Errorf("latency ok with no failure:\n%s", b.String())
	}
}
