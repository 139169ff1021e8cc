package session

import (
	"bytes"
	"strings"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

// The live line shows the checks' pass rate over the run so far, once any
// check has been counted.
func TestLiveLineShowsChecksOnceAny(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, false)
	p.snapshot(&schemas.Snapshot{TS: 1, Requests: 10})
	p.snapshot(&schemas.Snapshot{TS: 2, Requests: 10, ChecksPasses: 3, ChecksFails: 1})
	p.snapshot(&schemas.Snapshot{TS: 3, Requests: 10, ChecksPasses: 4})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || strings.Contains(lines[0], "checks") ||
		!strings.HasSuffix(lines[1], "checks 75.0%") || !strings.HasSuffix(lines[2], "checks 87.5%") {
		t.Errorf("live lines:\n%s", out.String())
	}
}

// The summary lists every check per endpoint with ✓ or ✗ and its pass rate.
func TestSummaryListsChecks(t *testing.T) {
	var out bytes.Buffer
	printSummary(&out, &schemas.Result{
		Checks: &schemas.CheckTotals{Passes: 13, Fails: 1},
		Endpoints: []schemas.EndpointResult{
			{Name: "home"},
			{Name: "me", Checks: []schemas.CheckCount{{Name: "status is 200", Passes: 10}, {Name: "json user equals a", Passes: 3, Fails: 1}}},
		},
	})
	s := out.String()
	for _, want := range []string{"checks      92.86% passed: ✓ 13  ✗ 1", "  me\n", "✓ status is 200  100.0% (✓ 10 ✗ 0)", "✗ json user equals a  75.0% (✓ 3 ✗ 1)"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "  home\n") {
		t.Errorf("an endpoint without checks is listed among them:\n%s", s)
	}
	out.Reset()
	printSummary(&out, &schemas.Result{Endpoints: []schemas.EndpointResult{{Name: "home"}}})
	if strings.Contains(out.String(), "checks") {
		t.Errorf("a run without checks mentions them:\n%s", out.String())
	}
}
