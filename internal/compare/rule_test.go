package compare

import (
	"math"
	"strings"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

func TestParseRule(t *testing.T) {
	cases := []struct {
		in   string
		want Rule
		text string // canonical form
	}{
		{"p95>+10%", Rule{Metric: P95, Rise: true, Relative: true, Limit: 10}, "p95>+10%"},
		{" p95 > +10 % ", Rule{Metric: P95, Rise: true, Relative: true, Limit: 10}, "p95>+10%"},
		{"p95>10%", Rule{Metric: P95, Rise: true, Relative: true, Limit: 10}, "p95>+10%"},
		{"P(99)>+2.5%", Rule{Metric: P99, Rise: true, Relative: true, Limit: 2.5}, "p99>+2.5%"},
		{"p(90) > +20ms", Rule{Metric: P90, Rise: true, Limit: 20}, "p90>+20ms"},
		{"p50>+20", Rule{Metric: P50, Rise: true, Limit: 20}, "p50>+20ms"},
		{"max>+1.5s", Rule{Metric: Max, Rise: true, Limit: 1500}, "max>+1500ms"},
		{"p99>+500us", Rule{Metric: P99, Rise: true, Limit: 0.5}, "p99>+0.5ms"},
		{"p99>+500µs", Rule{Metric: P99, Rise: true, Limit: 0.5}, "p99>+0.5ms"},
		{"rps<-10%", Rule{Metric: RPS, Relative: true, Limit: -10}, "rps<-10%"},
		{"rps<10%", Rule{Metric: RPS, Relative: true, Limit: -10}, "rps<-10%"},
		{"rps<-100", Rule{Metric: RPS, Limit: -100}, "rps<-100"},
		{"error_rate>+0.01", Rule{Metric: ErrorRate, Rise: true, Limit: 0.01}, "error_rate>+0.01"},
		{"ERROR_RATE>+.5", Rule{Metric: ErrorRate, Rise: true, Limit: 0.5}, "error_rate>+0.5"},
		{"error_rate>+50%", Rule{Metric: ErrorRate, Rise: true, Relative: true, Limit: 50}, "error_rate>+50%"},
		{"p95>+0%", Rule{Metric: P95, Rise: true, Relative: true, Limit: 0}, "p95>+0%"},
		{"rps<-0", Rule{Metric: RPS, Limit: math.Copysign(0, -1)}, "rps<-0"},
		{"p95{endpoint:search}>+5%", Rule{Metric: P95, Rise: true, Relative: true, Limit: 5, Endpoint: "search"}, "p95{endpoint:search}>+5%"},
		{"p(99) { endpoint : GET /a?b=<1> } > 20", Rule{Metric: P99, Rise: true, Limit: 20, Endpoint: "GET /a?b=<1>"}, "p99{endpoint:GET /a?b=<1>}>+20ms"},
		{"rps{endpoint:a:b}<-1%", Rule{Metric: RPS, Relative: true, Limit: -1, Endpoint: "a:b"}, "rps{endpoint:a:b}<-1%"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRule(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if s := got.String(); s != tc.text {
				t.Errorf("String() %q, want %q", s, tc.text)
			}
		})
	}
}

func TestParseRuleRejects(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "want METRIC>+N%"},
		{"p95", "want METRIC>+N%"},
		{"p95>", "want METRIC>+N%"},
		{"p95>=+10%", "want METRIC>+N%"},
		{"p95=+10%", "want METRIC>+N%"},
		{"p95>+ten%", "want METRIC>+N%"},
		{"p95>+10%%", "want METRIC>+N%"},
		{"p95>+1e3ms", "want METRIC>+N%"},
		{"p95>+NaN", "want METRIC>+N%"},
		{"p95>+Inf", "want METRIC>+N%"},
		{"p95>+10m", "want METRIC>+N%"},
		{"p95>+10%,p99>+10%", "want METRIC>+N%"},
		{"p96>+10%", `unknown metric "p96"`},
		{"p95{method:GET}>+10%", `unknown tag "method": want {endpoint:NAME}`},
		{"p95{:x}>+10%", `unknown tag ""`},
		{"p95{endpoint:}>+10%", "{endpoint:} names no endpoint"},
		{"p95{endpoint:  }>+10%", "{endpoint:} names no endpoint"},
		{"p95{endpoint}>+10%", "want METRIC>+N%"},
		{"p95{endpoint:a}{endpoint:b}>+10%", "want METRIC>+N%"},
		{"p95{endpoint:a{b}}>+10%", "want METRIC>+N%"},
		{"p(96)>+10%", `unknown metric "p(96)"`},
		{"latency>+10%", `unknown metric "latency"`},
		{"avg>+10%", `unknown metric "avg"`},
		{"p95>-10%", "> takes a rising change (p95>+10%)"},
		{"rps<+10%", "< takes a falling change (rps<-10%)"},
		{"rps<-10ms", "rps takes a plain number or N%, not ms"},
		{"error_rate>+5ms", "error_rate takes a plain number or N%, not ms"},
		{"error_rate>+2", "an absolute error_rate change is a fraction"},
		{"p95>+" + strings.Repeat("9", 400), "is not a number"},
		{"p95>+" + strings.Repeat("9", 306) + "s", "out of range"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseRule(tc.in)
			if err == nil {
				t.Fatalf("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestRuleBreached(t *testing.T) {
	rule := func(s string) Rule {
		t.Helper()
		r, err := ParseRule(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		rule      string
		base, cur float64
		want      bool
	}{
		{"p95>+10%", 100, 111, true},
		{"p95>+10%", 100, 110, false}, // exactly the limit is not beyond it
		{"p95>+10%", 3, 3.3, false},   // 10 % after float rounding
		{"p95>+10%", 100, 90, false},
		{"p95>+10%", 0, 0, false},
		{"p95>+10%", 0, 0.001, true}, // any rise from 0 is beyond any percentage
		{"p95>+0%", 100, 100, false},
		{"p95>+0%", 100, 100.001, true},
		{"p95>+20ms", 100, 120, false},
		{"p95>+20ms", 100, 120.5, true},
		{"p95>+20ms", 0.1, 20.2, true},
		{"p95>+20ms", 100, 50, false},
		{"max>+1s", 200, 1200, false},
		{"max>+1s", 200, 1201, true},
		{"rps<-10%", 1000, 901, false},
		{"rps<-10%", 1000, 900, false},
		{"rps<-10%", 1000, 899, true},
		{"rps<-10%", 1000, 2000, false},
		{"rps<-10%", 0, 0, false},
		{"rps<-10%", 0, 50, false}, // nothing to fall from
		{"rps<-100", 1000, 900, false},
		{"rps<-100", 1000, 899.5, true},
		{"error_rate>+0.01", 0, 0.01, false},
		{"error_rate>+0.01", 0, 0.0101, true},
		{"error_rate>+0.01", 0.5, 0.2, false},
		{"error_rate>+50%", 0.02, 0.0301, true},
		{"error_rate>+50%", 0.02, 0.03, false},
		{"error_rate>+50%", 0, 0.0001, true},
	}
	for _, tc := range cases {
		if got := rule(tc.rule).breached(tc.base, tc.cur); got != tc.want {
			t.Errorf("%s from %g to %g: breached %t, want %t", tc.rule, tc.base, tc.cur, got, tc.want)
		}
	}
}

func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"p95{endpoint:GET /x}>+1%", "p95>+10%", "rps<-5%", "p99>+20ms", "max>+1.5s", "error_rate>+0.01", "p(90)>10", "p95>-1%", "x", "p95>+.5us", "rps<-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") && !strings.ContainsAny(s, "\n\r") {
				t.Errorf("error on several lines: %q", err)
			}
			return
		}
		if math.IsNaN(r.Limit) || math.IsInf(r.Limit, 0) {
			t.Fatalf("%q: limit %v", s, r.Limit)
		}
		if (r.Rise && math.Signbit(r.Limit)) || (!r.Rise && r.Limit > 0) {
			t.Fatalf("%q: limit %v against the operator's direction", s, r.Limit)
		}
		if r.Metric == ErrorRate && !r.Relative && math.Abs(r.Limit) > 1 {
			t.Fatalf("%q: absolute error_rate limit %v beyond 1", s, r.Limit)
		}
		canon := r.String()
		again, err := ParseRule(canon)
		if err != nil {
			t.Fatalf("%q: canonical form %q does not parse: %v", s, canon, err)
		}
		if again != r {
			t.Fatalf("%q: canonical %q parses to %+v, not %+v", s, canon, again, r)
		}
		// A rule never fires when nothing changed.
		for _, v := range []float64{0, 1, 123.4} {
			if r.breached(v, v) && !(r.Rise && r.Limit < 0) {
				t.Fatalf("%q breached with no change at %v", s, v)
			}
		}
	})
}

func TestCheckNamesTheMissingEndpoint(t *testing.T) {
	base := &schemas.Result{Endpoints: []schemas.EndpointResult{{Name: "home"}, {Name: "search"}}}
	cur := &schemas.Result{Endpoints: []schemas.EndpointResult{{Name: "home"}, {Name: "export"}}}
	for _, ok := range []string{"p95>+1%", "p95{endpoint:search}>+1%", "p95{endpoint:export}>+1%"} {
		r, _ := ParseRule(ok)
		if err := Check([]Rule{r}, base, cur); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	r, _ := ParseRule("p95{endpoint:serch}>+1%")
	err := Check([]Rule{r}, base, cur)
	if err == nil || err.Error() != `"p95{endpoint:serch}>+1%": no endpoint "serch" in either result (endpoints: home, search, export)` {
		t.Errorf("misspelt endpoint: %v", err)
	}
}
