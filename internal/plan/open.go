package plan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/loadforge/loadforge/internal/arrival"
	"github.com/loadforge/loadforge/internal/pattern"
)

// Open-model defaults and bounds.
const (
	// DefaultMaxVUs caps an open model's pool when the plan gives no max_vus
	// (or gives more pre-allocated VUs, which then set the cap).
	DefaultMaxVUs = 1000
	// DefaultPreAllocatedVUs: VUs are cheap to start, so the pool starts
	// small and grows to what the rate needs.
	DefaultPreAllocatedVUs = 1
	// MaxRate bounds an arrival rate, per second.
	MaxRate = arrival.MaxRate
)

// openModel builds an arrival-rate pattern: rate with duration, or rate_stages.
func (b *builder) openModel(l Load) (pattern.Pattern, string, error) {
	var (
		r    pattern.RatePattern
		desc string
	)
	if l.Rate != nil {
		rate, err := b.rate("load.rate", l.Rate)
		if err != nil {
			return pattern.Pattern{}, "", err
		}
		if rate == 0 {
			return pattern.Pattern{}, "", b.r.errorAt("load.rate", "must be > 0")
		}
		d, err := b.duration("load.duration", l.Duration, durOpt{positive: true})
		if err != nil {
			return pattern.Pattern{}, "", err
		}
		r = pattern.ConstantRate(rate, d)
		desc = fmt.Sprintf("rate %s/s for %s", fmtRate(rate), d)
	} else {
		if len(l.RateStages) == 0 {
			return pattern.Pattern{}, "", b.r.errorAt("load.rate_stages", "needs at least one stage {duration, target}")
		}
		var parts []string
		for i, s := range l.RateStages {
			path := index("load.rate_stages", i)
			d, err := b.duration(path+".duration", s.Duration, durOpt{})
			if err != nil {
				return pattern.Pattern{}, "", err
			}
			if s.Target == nil {
				return pattern.Pattern{}, "", b.r.errorAt(path+".target", "required")
			}
			rate, err := b.rate(path+".target", s.Target)
			if err != nil {
				return pattern.Pattern{}, "", err
			}
			r.Stages = append(r.Stages, pattern.RateStage{Duration: d, Rate: rate})
			parts = append(parts, fmt.Sprintf("%s→%s/s", d, fmtRate(rate)))
		}
		desc = "rate stages " + strings.Join(parts, ", ")
	}
	pre, err := b.vus("load.pre_allocated_vus", l.PreAllocatedVUs, nil)
	if l.PreAllocatedVUs == nil {
		pre, err = DefaultPreAllocatedVUs, nil
	}
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	maxVUs, err := b.vus("load.max_vus", l.MaxVUs, ptr(max(DefaultMaxVUs, pre)))
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	if maxVUs < 1 {
		return pattern.Pattern{}, "", b.r.errorAt("load.max_vus", "must be ≥ 1")
	}
	if l.PreAllocatedVUs == nil {
		pre = min(pre, maxVUs)
	} else if pre > maxVUs {
		return pattern.Pattern{}, "", b.r.errorAt("load.pre_allocated_vus", fmt.Sprintf("%d is more than max_vus (%d)", pre, maxVUs))
	}
	r.MaxVUs, r.PreAllocatedVUs = maxVUs, pre
	if err := r.Validate(); err != nil {
		path := "load.rate"
		if l.Rate == nil {
			path = "load.rate_stages"
		}
		return pattern.Pattern{}, "", b.r.errorAt(path, err.Error())
	}
	desc += fmt.Sprintf(", up to %d VUs (%d pre-allocated)", maxVUs, pre)
	return pattern.Pattern{Rate: &r}, desc, nil
}

// rate reads an arrival rate (per second).
func (b *builder) rate(path string, v *float64) (float64, error) {
	if *v < 0 || *v > MaxRate {
		return 0, b.r.errorAt(path, fmt.Sprintf("must be 0 to %d per second, got %g", MaxRate, *v))
	}
	return *v, nil
}

// closedModel refuses the open model's settings on a closed-model plan.
func (b *builder) closedModel(l Load) error {
	for path, v := range map[string]*int{"load.max_vus": l.MaxVUs, "load.pre_allocated_vus": l.PreAllocatedVUs} {
		if v != nil {
			return b.r.errorAt(path, "applies to an open model (rate and duration, or rate_stages)")
		}
	}
	return nil
}

func fmtRate(r float64) string { return strconv.FormatFloat(r, 'g', -1, 64) }

// The open model's overrides.
const (
	KeyRate            = "load.rate"
	KeyRateStages      = "load.rate_stages" // values "DURATION:RATE"
	KeyMaxVUs          = "load.max_vus"
	KeyPreAllocatedVUs = "load.pre_allocated_vus"
)

// applyOpenLoad lays the open model's overrides over the plan. It runs before
// the closed model's, which drop the open model's settings.
func (r *Raw) applyOpenLoad(by map[string]Override) error {
	l := &r.Load
	if o, ok := by[KeyRate]; ok {
		rate, err := parseNumber(o.last())
		if err != nil {
			return &Error{Where: o.Origin, Msg: err.Error()}
		}
		// A rate replaces every other load form but keeps the plan's duration.
		l.VUs, l.Stages, l.Ramp, l.Step, l.Spike, l.RateStages = nil, nil, nil, nil, nil, nil
		for _, p := range []string{KeyVUs, KeyStages, "load.ramp", "load.step", "load.spike", KeyRateStages} {
			r.forget(p)
		}
		l.Rate = &rate
		r.set(KeyRate, o.Origin)
	}
	if st, ok := by[KeyRateStages]; ok {
		l.VUs, l.Duration, l.Stages, l.Ramp, l.Step, l.Spike, l.Rate = nil, nil, nil, nil, nil, nil, nil
		for _, p := range []string{KeyVUs, KeyDuration, KeyStages, "load.ramp", "load.step", "load.spike", KeyRate} {
			r.forget(p)
		}
		r.set(KeyRateStages, st.Origin)
		l.RateStages = []RateStage{}
		for i, v := range st.Values {
			where := fmt.Sprintf("%s %q", st.Origin, v)
			s, err := parseRateStage(v)
			if err != nil {
				return &Error{Where: where, Msg: err.Error()}
			}
			l.RateStages = append(l.RateStages, s)
			r.origins[index(KeyRateStages, i)] = where
		}
	}
	for _, k := range []struct {
		key string
		dst **int
	}{{KeyMaxVUs, &l.MaxVUs}, {KeyPreAllocatedVUs, &l.PreAllocatedVUs}} {
		if o, ok := by[k.key]; ok {
			n, err := parseInt(o.last())
			if err != nil {
				return &Error{Where: o.Origin, Msg: err.Error()}
			}
			*k.dst = &n
			r.set(k.key, o.Origin)
		}
	}
	return nil
}

// dropOpenLoad forgets the plan's open model when an override makes the run
// a closed one, unless an override set the open setting itself (the plan's
// build then says it does not apply).
func (r *Raw) dropOpenLoad(by map[string]Override) {
	l := &r.Load
	l.Rate, l.RateStages = nil, nil
	r.forget(KeyRate)
	r.forget(KeyRateStages)
	if _, ok := by[KeyMaxVUs]; !ok {
		l.MaxVUs = nil
		r.forget(KeyMaxVUs)
	}
	if _, ok := by[KeyPreAllocatedVUs]; !ok {
		l.PreAllocatedVUs = nil
		r.forget(KeyPreAllocatedVUs)
	}
}

// loadConflicts refuses overrides that name two load forms at once.
func loadConflicts(by map[string]Override) error {
	pairs := [][2]string{
		{KeyStages, KeyVUs}, {KeyStages, KeyDuration},
		{KeyRate, KeyVUs}, {KeyRate, KeyStages}, {KeyRate, KeyRateStages},
		{KeyRateStages, KeyVUs}, {KeyRateStages, KeyDuration}, {KeyRateStages, KeyStages},
	}
	for _, p := range pairs {
		a, okA := by[p[0]]
		b, okB := by[p[1]]
		if okA && okB {
			return &Error{Where: b.Origin + " and " + a.Origin,
				Msg: "give one load form: vus and duration, stages, rate and duration, or rate stages"}
		}
	}
	return nil
}

// The duration of an open-model plan keeps its rate.
func (r *Raw) durationKeepsRate(by map[string]Override) bool {
	_, hasVUs := by[KeyVUs]
	return !hasVUs && r.Load.Rate != nil
}
