package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/loadforge/loadforge/internal/threshold"
)

// KeyThresholds: values "METRIC:EXPR", added to the plan's thresholds.
const KeyThresholds = "thresholds"

// RawThreshold is one threshold expression as written in the plan, or given
// by --threshold / LOADFORGE_THRESHOLD.
type RawThreshold struct {
	Metric         string
	Expression     string
	AbortOnFail    bool
	DelayAbortEval time.Duration
	// Where names it in errors: file:line: thresholds.METRIC[i], or the flag.
	Where string
}

// Errors is several plan errors at once, one per line: every bad threshold
// is reported, not only the first.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// thresholds decodes the plan's thresholds: a mapping of metric (with tags)
// to a list of expressions, each a text or {threshold, abort_on_fail,
// delay_abort_eval}. A single expression may stand without the list.
// The expressions themselves are checked by Build, which reports them all.
func (d *decoder) thresholds(dst *[]RawThreshold) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		pairs, err := d.mappingPairs(n, path, "a mapping of metric to expressions, e.g. http_req_duration: [\"p(95)<200\"]")
		if err != nil {
			return err
		}
		for _, p := range pairs {
			metric := p.key.Value
			child := join(path, metric)
			d.r.lines[child] = p.key.Line
			v, err := d.resolve(p.value)
			if err != nil {
				return err
			}
			items := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				items = v.Content
			}
			for i, item := range items {
				ip := index(child, i)
				t, err := d.threshold(item, ip, metric)
				if err != nil {
					return err
				}
				*dst = append(*dst, t)
			}
		}
		return nil
	}
}

func (d *decoder) threshold(n *yaml.Node, path, metric string) (RawThreshold, error) {
	n, err := d.resolve(n)
	if err != nil {
		return RawThreshold{}, err
	}
	t := RawThreshold{Metric: metric, Where: d.r.File + ":" + strconv.Itoa(n.Line) + ": " + path}
	switch n.Kind {
	case yaml.ScalarNode:
		if isNull(n) {
			return t, d.fail(n, path, "want an expression like \"p(95)<200\", got nothing")
		}
		t.Expression = n.Value
		return t, nil
	case yaml.MappingNode:
		var expr *string
		var abort *bool
		var delay *time.Duration
		err := d.mapping(n, path, []field{
			{"threshold", func(n *yaml.Node, p string) error {
				s, ok, err := d.scalar(n, p)
				if ok {
					expr = &s
				}
				return err
			}},
			{"abort_on_fail", typed(d, &abort, strconv.ParseBool)},
			{"delay_abort_eval", typed(d, &delay, parseDuration)},
		})
		if err != nil {
			return t, err
		}
		if expr == nil {
			return t, d.fail(n, path, "want threshold: EXPRESSION beside abort_on_fail and delay_abort_eval")
		}
		t.Expression = *expr
		if abort != nil {
			t.AbortOnFail = *abort
		}
		if delay != nil {
			if *delay < 0 {
				return t, d.fail(n, path+".delay_abort_eval", "must be ≥ 0, got %s", *delay)
			}
			t.DelayAbortEval = *delay
		}
		return t, nil
	}
	return t, d.fail(n, path, "want an expression or {threshold, abort_on_fail, delay_abort_eval}, got %s", kindName(n))
}

// applyThresholds adds the thresholds given as "METRIC:EXPR" values.
func (r *Raw) applyThresholds(o Override) {
	for _, v := range o.Values {
		t := RawThreshold{Where: fmt.Sprintf("%s %q", o.Origin, v)}
		metric, expr, ok := threshold.SplitFlag(v)
		if ok {
			t.Metric, t.Expression = metric, expr
		} else {
			t.Expression = v // Build reports it
		}
		r.Thresholds = append(r.Thresholds, t)
	}
}

// buildThresholds parses every threshold, checks endpoint tags against the
// scenario's request names, and reports every bad one, one line each.
func (b *builder) buildThresholds() ([]threshold.Threshold, error) {
	var out []threshold.Threshold
	var errs Errors
	for _, rt := range b.r.Thresholds {
		if rt.Metric == "" {
			errs = append(errs, &Error{Where: rt.Where, Msg: "want METRIC:EXPRESSION, e.g. 'http_req_duration:p(95)<200'"})
			continue
		}
		t, err := threshold.Parse(rt.Metric, rt.Expression)
		if err == nil && t.Endpoint != "" {
			if _, ok := b.endpoints[t.Endpoint]; !ok {
				names := make([]string, 0, len(b.endpoints))
				for n := range b.endpoints {
					names = append(names, strconv.Quote(n))
				}
				slices.Sort(names)
				err = fmt.Errorf("%s: no request is named %q (the scenario has %s)", t.Metric, t.Endpoint, strings.Join(names, ", "))
			}
		}
		if err != nil {
			errs = append(errs, &Error{Where: rt.Where, Msg: err.Error()})
			continue
		}
		t.AbortOnFail, t.DelayAbortEval = rt.AbortOnFail, rt.DelayAbortEval
		out = append(out, t)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}
