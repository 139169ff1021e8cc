package cli

import (
	"regexp"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

func TestRunOutcomeWithThresholds(t *testing.T) {
	clearEnv(t)
	args := []string{"run", "--url", "http://127.0.0.1:1/", "--duration", "1s"}
	failed := []schemas.ThresholdResult{
		{Metric: "http_req_failed", Expression: "rate<0.01", OK: false},
		{Metric: "http_req_duration", Expression: "p(95)<200", OK: true},
	}
	passed := []schemas.ThresholdResult{{Metric: "http_req_duration", Expression: "p(95)<200", OK: true}}
	oneLine := `^loadforge: 1 of 2 thresholds failed: http_req_failed rate<0\.01\n$`
	for _, tc := range []struct {
		name     string
		res      *schemas.Result
		code     int
		stderrRe string
	}{
		{"passed", &schemas.Result{State: schemas.StateCompleted, Thresholds: passed}, ExitOK, `^$`},
		{"failed", &schemas.Result{State: schemas.StateCompleted, Thresholds: failed}, ExitThreshold, oneLine},
		{"aborted by one", &schemas.Result{State: schemas.StateAborted, Thresholds: failed}, ExitThreshold, oneLine},
		{"aborted otherwise", &schemas.Result{State: schemas.StateAborted, Thresholds: passed}, ExitFailure, `^loadforge: run aborted\n$`},
		{"interrupted", &schemas.Result{State: schemas.StateInterrupted, Thresholds: failed}, ExitInterrupted, `^$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := invoke(t, func() (*schemas.Result, error) { return tc.res, nil }, args...)
			if inv.code != tc.code || !regexp.MustCompile(tc.stderrRe).MatchString(inv.stderr) {
				t.Errorf("exit %d, stderr %q; want %d, %s", inv.code, inv.stderr, tc.code, tc.stderrRe)
			}
		})
	}
}
