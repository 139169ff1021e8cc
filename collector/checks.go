package collector

import (
	"github.com/loadforge/loadforge/schemas"
)

// maxChecks bounds the distinct check names kept per endpoint, so that a
// flood of made-up names cannot grow the collector without limit.
const maxChecks = 1000

// checkList is an endpoint's checks in order of first sight.
type checkList struct {
	list []schemas.CheckCount
	at   map[string]int
}

func (l *checkList) add(c schemas.CheckCount) bool {
	if l.at == nil {
		l.at = map[string]int{}
	}
	i, ok := l.at[c.Name]
	if !ok {
		if len(l.list) >= maxChecks {
			return false
		}
		i = len(l.list)
		l.at[c.Name] = i
		l.list = append(l.list, schemas.CheckCount{Name: c.Name})
	}
	l.list[i].Passes += c.Passes
	l.list[i].Fails += c.Fails
	return true
}

// plausibleChecks reports whether an endpoint's check counts can be real.
func plausibleChecks(ep *schemas.EndpointMetrics) bool {
	if len(ep.Checks) > maxChecks {
		return false
	}
	for _, c := range ep.Checks {
		if c.Passes > maxCount || c.Fails > maxCount {
			return false
		}
	}
	return true
}

// foldChecks adds an endpoint's check counts of one event to the endpoint,
// the second and the run.
func (a *aggregator) foldChecks(b *bucket, e *endpointAgg, ep *schemas.EndpointMetrics) {
	for _, c := range ep.Checks {
		if !e.checks.add(c) {
			continue
		}
		b.checksPasses += c.Passes
		b.checksFails += c.Fails
		if a.checkTotals == nil {
			a.checkTotals = &schemas.CheckTotals{}
		}
		a.checkTotals.Passes += c.Passes
		a.checkTotals.Fails += c.Fails
	}
}

// resultChecks is an endpoint's checks for the result (nil: none).
func (l *checkList) result() []schemas.CheckCount {
	if len(l.list) == 0 {
		return nil
	}
	return append([]schemas.CheckCount(nil), l.list...)
}
