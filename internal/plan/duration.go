package plan

import (
	"time"
)

// stretchLoad applies --duration given alone (no --vus, --stage, --rate or
// --rate-stage) to a plan whose load form has a length of its own: the form
// keeps its shape and lasts d. Stages and rate stages are scaled in
// proportion (the last one takes the rounding), a ramp or an external load
// takes d as its duration, a spike's times are scaled, and a step pattern's
// plateaus last d/(steps+1) each. It reports false, changing nothing, for the
// forms --duration already sets (vus and duration, rate and duration) and
// for a plan without a load; it refuses a form whose length it cannot scale.
func (r *Raw) stretchLoad(o Override, d time.Duration) (bool, error) {
	l := &r.Load
	refuse := func(what string) (bool, error) {
		return false, &Error{Where: o.Origin, Msg: "cannot set the length of " + what + "; give the load in full (--vus, --stage, --rate or --rate-stage)"}
	}
	switch {
	case l.Rate != nil || l.VUs != nil || l.Duration != nil:
		return false, nil
	case len(l.Stages) > 0:
		durs := make([]*time.Duration, len(l.Stages))
		for i := range l.Stages {
			durs[i] = l.Stages[i].Duration
		}
		if !scaleDurations(durs, d) {
			return refuse("stages whose durations are missing or add up to zero")
		}
		r.set("load.stages", o.Origin)
	case len(l.RateStages) > 0:
		durs := make([]*time.Duration, len(l.RateStages))
		for i := range l.RateStages {
			durs[i] = l.RateStages[i].Duration
		}
		if !scaleDurations(durs, d) {
			return refuse("rate stages whose durations are missing or add up to zero")
		}
		r.set("load.rate_stages", o.Origin)
	case l.Ramp != nil:
		l.Ramp.Duration = &d
		r.set("load.ramp", o.Origin)
	case l.Spike != nil:
		s := l.Spike
		if s.Duration == nil || *s.Duration <= 0 || s.At == nil || s.Hold == nil {
			return refuse("a spike without at, hold and a positive duration")
		}
		total := *s.Duration
		at, hold := scale(*s.At, d, total), scale(*s.Hold, d, total)
		s.At, s.Hold, s.Duration = &at, &hold, &d
		r.set("load.spike", o.Origin)
	case l.Step != nil:
		s := l.Step
		if s.Steps == nil || *s.Steps < 0 || *s.Steps >= MaxSteps {
			return refuse("a step pattern without a valid number of steps")
		}
		every := d / time.Duration(*s.Steps+1)
		if every <= 0 {
			return refuse("a step pattern of more steps than nanoseconds")
		}
		s.Every = &every
		r.set("load.step", o.Origin)
	case l.External != nil:
		l.External.Duration = &d
		r.set("load.external", o.Origin)
	default:
		return false, nil
	}
	return true, nil
}

// scaleDurations scales each duration by d/total (total their sum), the last
// taking the rounding so that they add up to d. It reports false when one is
// missing or negative, or all are zero.
func scaleDurations(durs []*time.Duration, d time.Duration) bool {
	var total time.Duration
	for _, p := range durs {
		if p == nil || *p < 0 || total > total+*p {
			return false
		}
		total += *p
	}
	if total <= 0 {
		return false
	}
	var sum time.Duration
	last := -1
	for i, p := range durs {
		if *p > 0 {
			last = i
		}
	}
	for i, p := range durs {
		v := scale(*p, d, total)
		if i == last {
			v = d - sum
		}
		sum += v
		*p = v
	}
	return true
}

// scale is x·d/total, rounded to the millisecond when d is a second or more
// (a plan's times read better so).
func scale(x, d, total time.Duration) time.Duration {
	v := time.Duration(float64(x) * float64(d) / float64(total))
	if d >= time.Second {
		v = v.Round(time.Millisecond)
	}
	return v
}
