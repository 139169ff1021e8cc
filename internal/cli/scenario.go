package cli

import (
	"fmt"
	"strings"

	"github.com/loadforge/loadforge/internal/plan"
)

// printScenario writes a plan's data sets, and the variables each request's
// templates use with where each comes from (vars, data, extract, built-in).
func printScenario(b *strings.Builder, p *plan.Plan) {
	if len(p.Spec.Vars) > 0 {
		names := make([]string, len(p.Spec.Vars))
		for i, v := range p.Spec.Vars {
			names[i] = v[0]
		}
		fmt.Fprintf(b, "\nvars %s\n", strings.Join(names, ", "))
	}
	for _, ds := range p.Spec.Data {
		fmt.Fprintf(b, "data %s: %d rows (%s), pick %s, when done %s\n", ds.Name, len(ds.Rows), strings.Join(ds.Columns, ", "), ds.Pick, ds.WhenDone)
	}
	if len(p.Uses) == 0 {
		return
	}
	b.WriteString("\nvariables used\n")
	for _, u := range p.Uses {
		fmt.Fprintf(b, "  %s: %s\n", u.Request, strings.Join(u.Names, ", "))
	}
}

// iterationsOverWorkers refuses shared iterations over more workers than
// VUs: a worker without a VU could never make its share.
func iterationsOverWorkers(p *plan.Plan, workers int) error {
	if p.Spec.Iterations == 0 || workers <= 1 || len(p.Pattern.Stages) == 0 {
		return nil
	}
	if vus := p.Pattern.Stages[0].Target; vus < workers {
		return fmt.Errorf("--iterations over %d workers needs at least %d VUs (one per worker), got %d", workers, workers, vus)
	}
	return nil
}
