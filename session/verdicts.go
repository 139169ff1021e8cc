package session

import (
	"fmt"
	"io"

	"github.com/loadforge/loadforge/internal/threshold"
	"github.com/loadforge/loadforge/schemas"
)

// printThresholds lists each threshold's verdict with the value it saw.
func printThresholds(w io.Writer, r *schemas.Result) {
	if len(r.Thresholds) == 0 {
		return
	}
	failed := 0
	width := 0
	for _, t := range r.Thresholds {
		width = max(width, len(t.Metric)+1+len(t.Expression))
		if !t.OK {
			failed++
		}
	}
	fmt.Fprintf(w, "  thresholds  %d of %d passed\n", len(r.Thresholds)-failed, len(r.Thresholds))
	for _, t := range r.Thresholds {
		mark := "✓"
		if !t.OK {
			mark = "✗"
		}
		line := fmt.Sprintf("    %s %-*s  %s", mark, width, t.Metric+" "+t.Expression, formatValue(t))
		if t.Aborted {
			line += "  (aborted the run)"
		}
		fmt.Fprintln(w, line)
	}
	if r.AbortReason != "" {
		fmt.Fprintf(w, "  aborted     %s\n", r.AbortReason)
	}
	fmt.Fprintln(w)
}

// formatValue shows a threshold's observed value in its metric's unit.
func formatValue(t schemas.ThresholdResult) string {
	th, err := threshold.Parse(t.Metric, t.Expression)
	if err != nil {
		return fmt.Sprintf("%g", t.Value)
	}
	if th.Duration() {
		return fmtMs(t.Value)
	}
	return th.Format(t.Value)
}

// printLatencyOk adds the successful requests' latency when some failed:
// the latency line above covers every request, failed ones included.
func printLatencyOk(w io.Writer, t schemas.Totals) {
	if t.Errors == 0 || t.Errors == t.Requests {
		return
	}
	l := t.LatencyOkMs
	fmt.Fprintf(w, "  latency ok  min %s  mean %s  p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s  (successful requests only)\n",
		fmtMs(l.Min), fmtMs(l.Mean), fmtMs(l.P50), fmtMs(l.P90), fmtMs(l.P95), fmtMs(l.P99), fmtMs(l.P999), fmtMs(l.Max))
}

// printAllFailed warns when not one request succeeded: the run's figures
// then describe failures only. The exit code stays 0 unless a threshold
// (http_req_failed) says otherwise, as in k6.
func printAllFailed(w io.Writer, r *schemas.Result) {
	if t := r.Totals; t.Requests > 0 && t.Errors == t.Requests {
		fmt.Fprintf(w, "  WARNING: every request failed (%d of %d); add a threshold such as --threshold 'http_req_failed:rate<0.01' to fail the run on it\n",
			t.Errors, t.Requests)
	}
}

// threshold notes a threshold's live change of verdict: failing, or holding
// again (a first state that holds is not news).
func (p *progress) threshold(ts *schemas.ThresholdState) {
	p.mu.Lock()
	if p.verdicts == nil {
		p.verdicts = map[string]bool{}
	}
	key := ts.Metric + " " + ts.Expression
	was, seen := p.verdicts[key]
	p.verdicts[key] = ts.OK
	p.mu.Unlock()
	switch {
	case !ts.OK && (!seen || was):
		p.note(fmt.Sprintf("✗ threshold %s failing (%s)", key, formatValue(schemas.ThresholdResult{Metric: ts.Metric, Expression: ts.Expression, Value: ts.Value})))
	case ts.OK && seen && !was:
		p.note(fmt.Sprintf("✓ threshold %s holds again (%s)", key, formatValue(schemas.ThresholdResult{Metric: ts.Metric, Expression: ts.Expression, Value: ts.Value})))
	}
}
