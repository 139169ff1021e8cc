package collector

import (
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// evaluate judges the thresholds once second k (of the given length: the
// run's last may be shorter) is published, and publishes
// the states whose verdict changed. A threshold asking to abort the run says
// so in its state (aborted); the session, which owns the run, stops it.
func (a *aggregator) evaluate(k uint64, length time.Duration) {
	if a.verdicts.Len() == 0 {
		return
	}
	if a.stopping && a.verdicts.AbortReason() == "" {
		a.verdicts.Stopping()
	}
	for _, s := range a.verdicts.Close(k, length.Seconds(), a.t0+int64(k)*second) {
		if s.Aborted {
			a.cfg.log.Warn("threshold failed: aborting the run", "metric", s.Metric, "expression", s.Expression, "value", s.Value)
		}
		a.cfg.emitThreshold(&s)
	}
}

// finishThresholds publishes each threshold's final state and writes the
// verdicts and the abort reason into the result.
func (a *aggregator) finishThresholds(res *schemas.Result, runEnd int64, durationS float64) {
	if a.verdicts.Len() > 0 {
		states, results := a.verdicts.Final(durationS, runEnd)
		for i := range states {
			a.cfg.emitThreshold(&states[i])
		}
		res.Thresholds = results
	}
	if res.State == schemas.StateAborted {
		res.AbortReason = a.verdicts.AbortReason()
		if res.AbortReason == "" {
			res.AbortReason = a.stopReason
		}
	}
}
