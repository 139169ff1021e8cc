// Package threshold parses k6-style thresholds ("p(95)<200", "rate<0.01",
// "count>1000 over 30s for 10s") and evaluates them, second by second, on the
// metric events of a run. It is pure: no bus, no clock; the collector feeds it.
package threshold

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Metric names a threshold may watch.
const (
	HTTPReqDuration       = "http_req_duration"
	HTTPReqFailed         = "http_req_failed"
	Checks                = "checks"
	HTTPReqs              = "http_reqs"
	DroppedIterations     = "dropped_iterations"
	IterationDuration     = "iteration_duration"
	HTTPReqWaiting        = "http_req_waiting"
	HTTPReqConnecting     = "http_req_connecting"
	HTTPReqTLSHandshaking = "http_req_tls_handshaking"
	HTTPReqReceiving      = "http_req_receiving"
	ServiceTime           = "service_time"
)

// Tags a threshold may filter on.
const (
	TagEndpoint = "endpoint"
	TagMethod   = "method"
	TagStatus   = "status"
)

// class is what kind of figures a metric has, which decides its aggregations.
type class int

const (
	classTrend   class = iota // durations: avg min max med p(N), in ms
	classRate                 // a share of samples: rate
	classCounter              // a count: count, rate (per second)
)

type metricInfo struct {
	class class
	tags  []string // the tags it can be filtered by
}

var metrics = map[string]metricInfo{
	HTTPReqDuration:       {classTrend, []string{TagEndpoint, TagMethod}},
	HTTPReqWaiting:        {classTrend, []string{TagEndpoint, TagMethod}},
	HTTPReqConnecting:     {classTrend, []string{TagEndpoint, TagMethod}},
	HTTPReqTLSHandshaking: {classTrend, []string{TagEndpoint, TagMethod}},
	HTTPReqReceiving:      {classTrend, []string{TagEndpoint, TagMethod}},
	ServiceTime:           {classTrend, []string{TagEndpoint, TagMethod}},
	IterationDuration:     {classTrend, nil},
	HTTPReqFailed:         {classRate, []string{TagEndpoint, TagMethod}},
	Checks:                {classRate, []string{TagEndpoint, TagMethod}},
	HTTPReqs:              {classCounter, []string{TagEndpoint, TagMethod, TagStatus}},
	DroppedIterations:     {classCounter, nil},
}

// MetricNames lists the metrics a threshold may watch, sorted.
func MetricNames() []string {
	names := make([]string, 0, len(metrics))
	for n := range metrics {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Aggregations.
const (
	AggAvg   = "avg"
	AggMin   = "min"
	AggMax   = "max"
	AggMed   = "med"
	AggP     = "p" // with Percentile
	AggRate  = "rate"
	AggCount = "count"
)

// Threshold is one parsed threshold expression on one metric. It is plain
// data: it travels from the plan to the collector as it is.
type Threshold struct {
	// Metric is the metric with its tags as written, e.g. http_req_duration{endpoint:login}.
	Metric string
	// Name is the bare metric name; Endpoint, Method and Status the tag filters ("" = any).
	Name, Endpoint, Method, Status string
	// Expression is the expression as written, e.g. "p(95)<200 over 30s".
	Expression string
	Agg        string
	Percentile float64 // with AggP
	Op         string  // < <= > >= == !=
	// Value is the bound, in ms for durations.
	Value float64
	// Window: evaluate on the last Window of the run (whole seconds); 0: the whole run.
	Window time.Duration
	// For: a breach counts only once it has lasted this long.
	For time.Duration
	// AbortOnFail stops the run when the threshold fails, but not before DelayAbortEval into the run.
	AbortOnFail    bool
	DelayAbortEval time.Duration
}

// Sticky reports whether a failure at any evaluation fails the threshold for
// good: windowed and persistent thresholds are; a whole-run threshold is
// judged by its final evaluation, as in k6.
func (t *Threshold) Sticky() bool { return t.Window > 0 || t.For > 0 }

// Parse parses one threshold: metric is the key as written (with its tags),
// expr one of its expressions. Errors are one line, without position: the
// caller knows where the text came from.
func Parse(metric, expr string) (Threshold, error) {
	t := Threshold{Metric: strings.TrimSpace(metric), Expression: strings.TrimSpace(expr)}
	info, err := t.parseMetric()
	if err != nil {
		return t, err
	}
	if err := t.parseExpr(info); err != nil {
		return t, fmt.Errorf("%s: %q: %w", t.Metric, t.Expression, err)
	}
	return t, nil
}

// ParseFlag parses 'METRIC:EXPR' as given to --threshold: the metric ends at
// the first ':' outside its {tags}.
func ParseFlag(s string) (Threshold, error) {
	metric, expr, ok := SplitFlag(s)
	if !ok {
		return Threshold{}, fmt.Errorf("%q: want METRIC:EXPRESSION, e.g. 'http_req_duration:p(95)<200'", strings.TrimSpace(s))
	}
	return Parse(metric, expr)
}

// SplitFlag splits METRIC:EXPR at the first ':' outside the metric's {tags}.
func SplitFlag(s string) (metric, expr string, ok bool) {
	depth := 0
	for i, c := range s {
		switch c {
		case '{':
			depth++
		case '}':
			depth--
		case ':':
			if depth == 0 {
				return s[:i], s[i+1:], true
			}
		}
	}
	return "", "", false
}

func (t *Threshold) parseMetric() (metricInfo, error) {
	name, tags, hasTags := strings.Cut(t.Metric, "{")
	name = strings.TrimSpace(name)
	info, ok := metrics[name]
	if !ok {
		return info, fmt.Errorf("unknown metric %q (want one of %s)", name, strings.Join(MetricNames(), ", "))
	}
	t.Name = name
	if !hasTags {
		return info, nil
	}
	tags, ok = strings.CutSuffix(strings.TrimSpace(tags), "}")
	if !ok || strings.ContainsAny(tags, "{}") {
		return info, fmt.Errorf("%s: tags go in one pair of braces: %s{endpoint:NAME}", t.Metric, name)
	}
	if strings.TrimSpace(tags) == "" {
		return info, fmt.Errorf("%s: empty tags {}", t.Metric)
	}
	for _, tag := range strings.Split(tags, ",") {
		k, v, ok := strings.Cut(tag, ":")
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"'`)
		if !ok || k == "" || v == "" {
			return info, fmt.Errorf("%s: want tag:value, got %q", t.Metric, strings.TrimSpace(tag))
		}
		if !slices.Contains(info.tags, k) {
			if len(info.tags) == 0 {
				return info, fmt.Errorf("%s: %s takes no tags", t.Metric, name)
			}
			return info, fmt.Errorf("%s: unknown tag %q for %s (want %s)", t.Metric, k, name, strings.Join(info.tags, ", "))
		}
		var dst *string
		switch k {
		case TagEndpoint:
			dst = &t.Endpoint
		case TagMethod:
			dst = &t.Method
			v = strings.ToUpper(v)
		case TagStatus:
			dst = &t.Status
			if n, err := strconv.Atoi(v); err != nil || n < 100 || n > 599 {
				return info, fmt.Errorf("%s: status %q is not an HTTP status code (100-599)", t.Metric, v)
			}
		}
		if *dst != "" {
			return info, fmt.Errorf("%s: tag %q given twice", t.Metric, k)
		}
		*dst = v
	}
	return info, nil
}

var operators = []string{"<=", ">=", "==", "!=", "<", ">"} // two-character ones first

func (t *Threshold) parseExpr(info metricInfo) error {
	s := t.Expression
	if s == "" {
		return errors.New("empty expression")
	}
	// The aggregation runs to the operator.
	opAt, op := -1, ""
	for i := 0; i < len(s) && opAt < 0; i++ {
		for _, o := range operators {
			if strings.HasPrefix(s[i:], o) {
				opAt, op = i, o
				break
			}
		}
	}
	if opAt < 0 {
		return errors.New("no operator (want one of < <= > >= == !=)")
	}
	t.Op = op
	if err := t.parseAgg(strings.TrimSpace(s[:opAt]), info); err != nil {
		return err
	}
	fields := strings.Fields(s[opAt+len(op):])
	if len(fields) == 0 {
		return fmt.Errorf("no value after %s", op)
	}
	v, err := t.parseValue(fields[0], info)
	if err != nil {
		return err
	}
	t.Value = v
	rest := fields[1:]
	if len(rest) >= 2 && rest[0] == "over" {
		d, err := parseWindow(rest[1], "over")
		if err != nil {
			return err
		}
		if d%time.Second != 0 {
			return fmt.Errorf("over %s: a window is whole seconds", rest[1])
		}
		t.Window, rest = d, rest[2:]
	}
	if len(rest) >= 2 && rest[0] == "for" {
		d, err := parseWindow(rest[1], "for")
		if err != nil {
			return err
		}
		t.For, rest = d, rest[2:]
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected %q (after the value: optional 'over DURATION', then 'for DURATION')", strings.Join(rest, " "))
	}
	return nil
}

func (t *Threshold) parseAgg(agg string, info metricInfo) error {
	var allowed []string
	switch info.class {
	case classTrend:
		allowed = []string{"avg", "min", "max", "med", "p(N)"}
	case classRate:
		allowed = []string{"rate"}
	case classCounter:
		allowed = []string{"count", "rate"}
	}
	bad := func() error {
		if agg == "" {
			return fmt.Errorf("no aggregation before %s (want %s)", t.Op, strings.Join(allowed, ", "))
		}
		return fmt.Errorf("aggregation %q does not apply to %s (want %s)", agg, t.Name, strings.Join(allowed, ", "))
	}
	if inner, ok := strings.CutPrefix(agg, "p("); ok && info.class == classTrend {
		inner, ok = strings.CutSuffix(inner, ")")
		p, err := strconv.ParseFloat(strings.TrimSpace(inner), 64)
		if !ok || err != nil || math.IsNaN(p) || p <= 0 || p > 100 {
			return fmt.Errorf("percentile %q: want p(N) with 0 < N ≤ 100", agg)
		}
		t.Agg, t.Percentile = AggP, p
		return nil
	}
	for _, a := range allowed {
		if a == agg && a != "p(N)" {
			t.Agg = agg
			return nil
		}
	}
	return bad()
}

// parseValue reads the bound: for durations a number of ms or a number with a
// unit (us, ms, s, m); otherwise a plain number.
func (t *Threshold) parseValue(s string, info metricInfo) (float64, error) {
	num := strings.TrimRightFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r == 'µ' })
	unit := s[len(num):]
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	if info.class != classTrend {
		if unit != "" {
			return 0, fmt.Errorf("value %q: %s of %s is a plain number, without a unit", s, t.Agg, t.Name)
		}
		return v, nil
	}
	switch unit {
	case "", "ms":
		return v, nil
	case "us", "µs":
		return v / 1000, nil
	case "s":
		return v * 1000, nil
	case "m":
		return v * 60_000, nil
	}
	return 0, fmt.Errorf("value %q: unknown unit %q (want us, ms, s or m; a bare number is ms)", s, unit)
}

func parseWindow(s, what string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive duration like 30s or 1m", what, s)
	}
	return d, nil
}

// Check compares an observed value with the threshold's bound: true is a pass.
func (t *Threshold) Check(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Value
	case "<=":
		return v <= t.Value
	case ">":
		return v > t.Value
	case ">=":
		return v >= t.Value
	case "==":
		return v == t.Value
	case "!=":
		return v != t.Value
	}
	return false
}

// Duration reports whether the threshold's values are durations (in ms).
func (t *Threshold) Duration() bool { return metrics[t.Name].class == classTrend }
