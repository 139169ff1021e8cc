package pattern

import (
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// An open model's pattern travels to the workers in the scale commands: the
// scheduler sends Wire, each worker reads it back with RateFromWire and
// compiles the same schedule (RatePattern.Schedule) from it, so the stages
// are converted in this one place each way.

// Wire is r as the scale commands carry it.
func (r RatePattern) Wire() *schemas.ArrivalRate {
	w := &schemas.ArrivalRate{MaxVUs: r.MaxVUs, PreAllocatedVUs: r.PreAllocatedVUs}
	for _, s := range r.Stages {
		w.Stages = append(w.Stages, schemas.RateStage{DurationNs: int64(s.Duration), Rate: s.Rate})
	}
	return w
}

// RateFromWire is the rate pattern a scale command carries.
func RateFromWire(a *schemas.ArrivalRate) RatePattern {
	r := RatePattern{MaxVUs: a.MaxVUs, PreAllocatedVUs: a.PreAllocatedVUs, Stages: make([]RateStage, len(a.Stages))}
	for i, s := range a.Stages {
		r.Stages[i] = RateStage{Duration: time.Duration(s.DurationNs), Rate: s.Rate}
	}
	return r
}
