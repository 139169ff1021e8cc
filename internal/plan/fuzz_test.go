package plan

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: no input makes Parse or Build panic, and every error is one line.
func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte("load: [1, 2\n  vus: x"))
	f.Add([]byte("a: &a\n  <<: *a\n"))
	f.Add([]byte("think: 1s-2s\nrps_limit: .inf\ntimeout: 5\n"))
	f.Add([]byte("load: {stages: [30s:1, {duration: 1m, target: 2}], graceful_stop: 0}\n"))
	f.Add([]byte("load: {step: {start: 1, step: 9223372036854775807, every: 1ns, steps: 10000}}\n"))
	f.Add([]byte("load: {rate_stages: [1s:5, {duration: 1ns, target: 1e7}], max_vus: 2, pre_allocated_vus: 3}\n"))
	f.Add([]byte("load: {rate: 0.5, duration: 2562047h, max_vus: 1}\n"))
	f.Add([]byte("load: {spike: {peak: 1, at: 9223372036854775807ns, hold: 1ns, duration: 1ns}}\n"))
	f.Add([]byte("scenario: {tasks: [{request: {url: 'http://[::1]:8080/x', body: '@'}}]}\n"))
	// Small seeds keep minimizing cheap; this one touches every section.
	f.Add([]byte(`name: x
base_url: http://h:1/a
headers: &h {A: '1'}
scenario:
  setup: [{method: POST, path: /l, body: '@@x'}]
  tasks:
    - {weight: 2, requests: [{path: /}, {url: 'http://h/j', headers: {<<: *h, B: 2}}]}
  teardown: [{path: /o}]
load: {ramp: {to: 3, duration: 1s}, graceful_stop: 1s}
think: {min: 1ms, max: 2ms}
rps_limit: 1.5
timeout: 1s
`))
	f.Add([]byte(scenarioPlan))
	f.Add([]byte("vars: {a: b}\ncookies: no\ndata: {u: {file: x.csv, pick: random}}\nscenario: {tasks: [{request: {path: '/{{ .a }}', json: [1, {k: '{{ .u.c }}'}], checks: [{json: 'a.#', lt: 2}, {header: X}]}}]}\nload: {iterations: 3, max_duration: 1s}\n"))
	f.Add([]byte(`scenario: {tasks: [{request: {name: a, url: 'http://h/'}}]}
load: {vus: 1, duration: 1s}
thresholds:
  http_req_duration: ["p(95)<200 over 30s for 10s", {threshold: "max<1s", abort_on_fail: true, delay_abort_eval: 1s}]
  "http_reqs{endpoint:a,status:500}": "count==0"
  http_req_failed: [rate<, p(1)<2]
`))
	// An empty directory keeps @file bodies from reading anything real.
	planFile := filepath.Join(f.TempDir(), "fuzz.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data, planFile)
		if err != nil {
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("Parse error is not one line: %q", msg)
			}
			return
		}
		if _, err := r.Build(); err != nil {
			// Several bad thresholds are several errors, each one line.
			var errs Errors
			if !errors.As(err, &errs) {
				errs = Errors{{Msg: err.Error()}}
			}
			for _, e := range errs {
				if msg := e.Error(); strings.ContainsAny(msg, "\r\n") {
					t.Fatalf("Build error is not one line: %q", msg)
				}
			}
		}
	})
}
