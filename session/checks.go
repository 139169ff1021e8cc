package session

import (
	"fmt"
	"io"

	"github.com/loadforge/loadforge/schemas"
)

// printChecks lists every check per endpoint as k6 does: ✓ when it always
// passed, ✗ otherwise, with its pass percentage and counts.
func printChecks(w io.Writer, r *schemas.Result) {
	if r.Checks == nil {
		return
	}
	c := r.Checks
	fmt.Fprintf(w, "  checks      %.2f%% passed: ✓ %d  ✗ %d\n\n", pct(c.Passes, c.Passes+c.Fails), c.Passes, c.Fails)
	for _, e := range r.Endpoints {
		if len(e.Checks) == 0 {
			continue
		}
		fmt.Fprintf(w, "  %s\n", e.Name)
		for _, k := range e.Checks {
			mark := "✓"
			if k.Fails > 0 {
				mark = "✗"
			}
			fmt.Fprintf(w, "    %s %s  %.1f%% (✓ %d ✗ %d)\n", mark, k.Name, pct(k.Passes, k.Passes+k.Fails), k.Passes, k.Fails)
		}
	}
	fmt.Fprintln(w)
}

// checksLine is the live line's part for checks: the pass rate over the run
// so far, once any check has been counted.
func (p *progress) checksLine(s *schemas.Snapshot) string {
	p.checksPasses += s.ChecksPasses
	p.checksFails += s.ChecksFails
	if p.checksPasses+p.checksFails == 0 {
		return ""
	}
	return fmt.Sprintf("  checks %.1f%%", pct(p.checksPasses, p.checksPasses+p.checksFails))
}
