package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/loadforge/loadforge/internal/threshold"
	"github.com/loadforge/loadforge/schemas"
)

// failedThresholds names the thresholds that failed, for the one line on
// stderr that goes with exit 99; nil when none did.
func failedThresholds(ths []schemas.ThresholdResult) error {
	var failed []string
	for _, t := range ths {
		if !t.OK {
			failed = append(failed, t.Metric+" "+t.Expression)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d thresholds failed: %s", len(failed), len(ths), strings.Join(failed, ", "))
}

// printThresholds lists a plan's thresholds for validate, as they will be judged.
func printThresholds(b *strings.Builder, ths []threshold.Threshold) {
	if len(ths) == 0 {
		return
	}
	b.WriteString("\nthresholds (a failed one exits 99)\n")
	w := 0
	for _, t := range ths {
		w = max(w, len(t.Metric))
	}
	for _, t := range ths {
		line := fmt.Sprintf("  %-*s  %s", w, t.Metric, t.Expression)
		var notes []string
		switch {
		case t.Window > 0:
			notes = append(notes, "on the last "+t.Window.String()+", failing once any window fails")
		case t.For == 0:
			notes = append(notes, "on the whole run")
		}
		if t.For > 0 {
			notes = append(notes, "a breach counts once it lasted "+t.For.String())
		}
		if t.AbortOnFail {
			a := "aborts the run"
			if t.DelayAbortEval > 0 {
				a += " (not before " + t.DelayAbortEval.Round(time.Millisecond).String() + ")"
			}
			notes = append(notes, a)
		}
		line += "  (" + strings.Join(notes, "; ") + ")"
		b.WriteString(line + "\n")
	}
}
