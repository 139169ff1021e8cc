package cli

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/loadforge/loadforge/internal/plan"
)

// printRateTimeline writes an open-model plan's load: the rate and the
// iterations started so far, at each step.
func printRateTimeline(b *strings.Builder, p *plan.Plan, d time.Duration) {
	r := p.Pattern.Rate
	peak := 0.0
	for _, s := range r.Stages {
		peak = max(peak, s.Rate)
	}
	fmt.Fprintf(b, "\nload %s: %s in all, %d iterations, peak %s/s\n", p.Load, d, r.Arrivals(d), formatRate(peak))
	step := timelineStep(d)
	fmt.Fprintf(b, "\ntimeline (every %s)     rate  iterations started\n", step)
	for _, pt := range r.Timeline(step) {
		bar := 0
		if peak > 0 {
			bar = int(math.Round(pt.Rate * 40 / peak))
		}
		line := fmt.Sprintf("%10s %9s/s %10d  %s", pt.At, formatRate(pt.Rate), pt.Arrivals, strings.Repeat("#", bar))
		fmt.Fprintf(b, "%s\n", strings.TrimRight(line, " "))
	}
}

// formatRate shows a rate with at most two decimals: 2000, 33.33, 0.5.
func formatRate(r float64) string {
	return strconv.FormatFloat(math.Round(r*100)/100, 'f', -1, 64)
}
