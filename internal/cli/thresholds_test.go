package cli

import (
	"errors"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

func TestRunOutcomeExitCodes(t *testing.T) {
	failed := []schemas.ThresholdResult{{Metric: "http_req_failed", Expression: "rate<0.01", OK: false}}
	passed := []schemas.ThresholdResult{{Metric: "http_req_failed", Expression: "rate<0.01", OK: true}}
	for _, c := range []struct {
		name  string
		state string
		ths   []schemas.ThresholdResult
		want  int
	}{
		{"completed", schemas.StateCompleted, passed, ExitOK},
		{"completed, a threshold failed", schemas.StateCompleted, failed, ExitThreshold},
		{"aborted by a threshold", schemas.StateAborted, failed, ExitThreshold},
		{"aborted otherwise", schemas.StateAborted, passed, ExitFailure},
		{"interrupted, a threshold failed", schemas.StateInterrupted, failed, ExitInterrupted},
	} {
		err := runOutcome(&schemas.Result{State: c.state, Thresholds: c.ths}, nil)
		got := ExitOK
		var ee *exitError
		if errors.As(err, &ee) {
			got = ee.code
		} else if err != nil {
			got = ExitUsage
		}
		if got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
}
