package compare

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/loadforge/loadforge/schemas"
)

// Metric is one figure of an endpoint (or of the totals) that two runs are compared on.
type Metric string

// The metrics, in the order the reports show them.
const (
	RPS       Metric = "rps"        // requests per second
	ErrorRate Metric = "error_rate" // errors / requests, a fraction
	P50       Metric = "p50"        // latency percentiles and maximum, ms
	P90       Metric = "p90"
	P95       Metric = "p95"
	P99       Metric = "p99"
	Max       Metric = "max"
)

// Metrics lists every metric in report order.
var Metrics = []Metric{RPS, ErrorRate, P50, P90, P95, P99, Max}

func (m Metric) latency() bool { return m != RPS && m != ErrorRate }

// A Rule turns a change of one metric into a regression: "p95>+10%" fails
// when p95 rose by more than 10 %, "rps<-5%" when the rate fell by more than
// 5 %, "p99>+20ms" when p99 rose by more than 20 ms, "error_rate>+0.01" when
// the error rate rose by more than one percentage point.
type Rule struct {
	Metric Metric
	// Rise is true for ">" (fail on a rise beyond Limit), false for "<" (a fall).
	Rise bool
	// Relative: Limit is in percent of the base value; otherwise it is in the
	// metric's own unit (ms, a fraction, requests/s).
	Relative bool
	// Limit is signed: positive for a rise, negative for a fall.
	Limit float64
	// Endpoint, when set, limits the rule to the endpoint of that name
	// ("p95{endpoint:search}>+5%"); otherwise it holds for every endpoint and the totals.
	Endpoint string
}

var ruleRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*|[pP]\(\s*\d+\s*\))\s*(?:\{\s*([A-Za-z_]*)\s*:\s*([^{}]*?)\s*\}\s*)?([<>])\s*([+-]?)\s*(\d+(?:\.\d*)?|\.\d+)\s*(%|ms|s|us|µs)?$`)

// ParseRule reads one --fail-if rule: METRIC>+N% (or >+N with a unit) for a
// rise, METRIC<-N% for a fall. Without a sign, the number takes the
// direction of the operator.
func ParseRule(text string) (Rule, error) {
	s := strings.TrimSpace(text)
	m := ruleRE.FindStringSubmatch(s)
	if m == nil {
		return Rule{}, fmt.Errorf("%q: want METRIC>+N%% or METRIC<-N%% (METRIC: %s, optionally with {endpoint:NAME}), or an absolute change like p95>+20ms, error_rate>+0.01, rps<-100", text, metricList())
	}
	metric, ok := parseMetric(m[1])
	if !ok {
		return Rule{}, fmt.Errorf("%q: unknown metric %q: want one of %s", text, m[1], metricList())
	}
	// m[2], m[3]: the optional {TAG:VALUE}; then operator, sign, number, unit.
	endpoint := m[3]
	if strings.Contains(s, "{") {
		if m[2] != "endpoint" {
			return Rule{}, fmt.Errorf("%q: unknown tag %q: want {endpoint:NAME}", text, m[2])
		}
		if endpoint == "" {
			return Rule{}, fmt.Errorf("%q: {endpoint:} names no endpoint", text)
		}
	}
	m = append(m[:2], m[4:]...)
	r := Rule{Metric: metric, Rise: m[2] == ">", Endpoint: endpoint}
	sign, unit := m[3], m[5]
	if (sign == "-" && r.Rise) || (sign == "+" && !r.Rise) {
		way, want := "rising", "+"
		if !r.Rise {
			way, want = "falling", "-"
		}
		return Rule{}, fmt.Errorf("%q: %s takes a %s change (%s%s%s%s%s); a rule fails when the metric moves past its limit in that direction",
			text, m[2], way, m[1], m[2], want, m[4], unit)
	}
	v, err := strconv.ParseFloat(m[4], 64)
	if err != nil || math.IsInf(v, 0) {
		return Rule{}, fmt.Errorf("%q: %q is not a number", text, m[4])
	}
	switch {
	case unit == "%":
		r.Relative = true
	case metric.latency():
		switch unit {
		case "s":
			v *= 1000
		case "us", "µs":
			v /= 1000
		}
	case unit != "":
		return Rule{}, fmt.Errorf("%q: %s takes a plain number or N%%, not %s", text, metric, unit)
	case metric == ErrorRate && v > 1:
		return Rule{}, fmt.Errorf("%q: an absolute error_rate change is a fraction (0.01 is one percentage point); write N%% for a relative change", text)
	}
	if math.IsInf(v, 0) {
		return Rule{}, fmt.Errorf("%q: %q is out of range", text, m[4])
	}
	if !r.Rise {
		v = -v
	}
	r.Limit = v
	return r, nil
}

// ParseRules parses each rule, failing on the first bad one.
func ParseRules(texts []string) ([]Rule, error) {
	rules := make([]Rule, 0, len(texts))
	for _, t := range texts {
		r, err := ParseRule(t)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func parseMetric(s string) (Metric, bool) {
	s = strings.ToLower(strings.Join(strings.Fields(s), ""))
	// k6's spelling of a percentile: p(95).
	if strings.HasPrefix(s, "p(") && strings.HasSuffix(s, ")") {
		s = "p" + s[2:len(s)-1]
	}
	for _, m := range Metrics {
		if s == string(m) {
			return m, true
		}
	}
	return "", false
}

func metricList() string {
	names := make([]string, len(Metrics))
	for i, m := range Metrics {
		names[i] = string(m)
	}
	return strings.Join(names, " ")
}

// String gives the rule in canonical form: parsing it gives the same rule.
func (r Rule) String() string {
	op := "<"
	if r.Rise {
		op = ">"
	}
	num := strconv.FormatFloat(r.Limit, 'f', -1, 64)
	if r.Limit >= 0 {
		num = "+" + num
	}
	if !r.Rise && r.Limit == 0 {
		num = "-0"
	}
	switch {
	case r.Relative:
		num += "%"
	case r.Metric.latency():
		num += "ms"
	}
	scope := ""
	if r.Endpoint != "" {
		scope = "{endpoint:" + r.Endpoint + "}"
	}
	return string(r.Metric) + scope + op + num
}

// Check fails when a rule names an endpoint found in neither result: a
// misspelt name would otherwise pass without a word.
func Check(rules []Rule, base, cur *schemas.Result) error {
	for _, r := range rules {
		if r.Endpoint == "" {
			continue
		}
		var names []string
		found := false
		for _, res := range []*schemas.Result{base, cur} {
			for _, e := range res.Endpoints {
				found = found || e.Name == r.Endpoint
				if !slices.Contains(names, e.Name) {
					names = append(names, e.Name)
				}
			}
		}
		if !found {
			return fmt.Errorf("%q: no endpoint %q in either result (endpoints: %s)", r.String(), r.Endpoint, strings.Join(names, ", "))
		}
	}
	return nil
}

// slack absorbs float rounding at the limit: a change of exactly the limit
// is not beyond it.
const slack = 1e-9

// breached tells whether going from base to cur breaks the rule. A relative
// rule on a base of 0 sees any rise as beyond any limit.
func (r Rule) breached(base, cur float64) bool {
	if r.Relative {
		if base == 0 {
			return r.Rise && cur > 0
		}
		pct := 100 * (cur - base) / math.Abs(base)
		if r.Rise {
			return pct > r.Limit+slack*math.Max(1, math.Abs(r.Limit))
		}
		return pct < r.Limit-slack*math.Max(1, math.Abs(r.Limit))
	}
	d := cur - base
	tol := slack * math.Max(1, math.Max(math.Abs(base), math.Abs(cur)))
	if r.Rise {
		return d > r.Limit+tol
	}
	return d < r.Limit-tol
}
