package cli

import (
	"fmt"

	"github.com/loadforge/loadforge/internal/fdlimit"
	"github.com/loadforge/loadforge/internal/plan"
)

// checkFDs raises the open-file limit and refuses a plan whose VUs, run in
// this process, could not all get their connections: running out of file
// descriptors mid-run would measure the generator, not the target.
func checkFDs(p *plan.Plan) error {
	soft, hard, err := fdlimit.Raise()
	if err != nil {
		return nil // no limit to read: nothing to check against
	}
	vus := peakVUs(p)
	var urls []string
	for _, q := range p.Spec.Scenario.Requests() {
		urls = append(urls, q.URL)
	}
	return fdlimit.Check(fmt.Sprintf("the load (%s, up to %d VUs)", p.Load, vus), vus, urls, soft, hard)
}

// peakVUs is the most VUs the plan may run at once.
func peakVUs(p *plan.Plan) int {
	switch {
	case p.External != nil:
		return p.External.MaxVUs
	case p.Pattern.Open():
		return max(p.Pattern.Rate.MaxVUs, p.Pattern.Rate.PreAllocatedVUs)
	}
	peak := 0
	for _, s := range p.Pattern.Stages {
		peak = max(peak, s.Target)
	}
	return peak
}
