package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
)

// valid is a small valid plan; the error cases below change one thing in it.
const valid = `name: shop
base_url: http://127.0.0.1:8080
scenario:
  tasks:
    - name: browse
      requests:
        - {path: /}
load:
  vus: 2
  duration: 5s
`

func build(t *testing.T, src string) (*Plan, error) {
	t.Helper()
	r, err := Parse([]byte(src), "p.yaml")
	if err != nil {
		return nil, err
	}
	return r.Build()
}

func TestBadPlansNameFieldAndLine(t *testing.T) {
	cases := []struct {
		name, src, want string
	}{
		{"unknown top key", "nme: x\n" + valid, `p.yaml:1: nme: unknown field (want one of name, base_url`},
		{"unknown nested key", strings.Replace(valid, "  vus: 2", "  vuz: 2", 1), `p.yaml:9: load.vuz: unknown field`},
		{"negative vus", strings.Replace(valid, "vus: 2", "vus: -3", 1), `p.yaml:9: load.vus: must be ≥ 0, got -3`},
		{"too many vus", strings.Replace(valid, "vus: 2", "vus: 2000000", 1), `p.yaml:9: load.vus: must be ≤ 1000000`},
		{"vus not a number", strings.Replace(valid, "vus: 2", "vus: ten", 1), `p.yaml:9: load.vus: want a whole number, got "ten"`},
		{"vus a list", strings.Replace(valid, "vus: 2", "vus: [2]", 1), `p.yaml:9: load.vus: want a single value, got a list`},
		{"bare duration", strings.Replace(valid, "duration: 5s", "duration: 5", 1), `p.yaml:10: load.duration: 5 has no unit (write 5s)`},
		{"bad duration", strings.Replace(valid, "duration: 5s", "duration: soon", 1), `p.yaml:10: load.duration: want a duration like 30s`},
		{"zero duration", strings.Replace(valid, "duration: 5s", "duration: 0s", 1), `p.yaml:10: load.duration: must be > 0, got 0s`},
		{"vus without duration", strings.Replace(valid, "  duration: 5s\n", "", 1), `p.yaml:9: load.vus: needs a duration too`},
		{"no load form", strings.Replace(valid, "  vus: 2\n  duration: 5s\n", "  graceful_stop: 1s\n", 1), `p.yaml:8: load: give one load form`},
		{"two load forms", valid + "  stages: [{duration: 1s, target: 1}]\n", `p.yaml:11: load.stages: give one load form, but vus is given too`},
		{"load a scalar", strings.Replace(valid, "load:\n  vus: 2\n  duration: 5s\n", "load: 5\n", 1), `p.yaml:8: load: want a mapping, got "5"`},
		{"stage negative target", strings.Replace(valid, "  vus: 2\n  duration: 5s\n", "  stages:\n    - {duration: 1s, target: 2}\n    - {duration: 1s, target: -5}\n", 1), `p.yaml:11: load.stages[1].target: must be ≥ 0, got -5`},
		{"stage without duration", strings.Replace(valid, "  vus: 2\n  duration: 5s\n", "  stages:\n    - {target: 2}\n", 1), `p.yaml:10: load.stages[0].duration: required`},
		{"stage string malformed", strings.Replace(valid, "  vus: 2\n  duration: 5s\n", "  stages: [30s]\n", 1), `p.yaml:9: load.stages[0]: want DURATION:TARGET`},
		{"no stages", strings.Replace(valid, "  vus: 2\n  duration: 5s\n", "  stages: []\n", 1), `p.yaml:9: load.stages: needs at least one stage`},
		{"stages of no time", strings.Replace(valid, "  vus: 2\n  duration: 5s\n", "  stages: [0s:5]\n", 1), `load.stages: the stages last 0s in all`},
		{"ramp without to", strings.Replace(valid, "  vus: 2\n  duration: 5s\n", "  ramp: {duration: 1m}\n", 1), `p.yaml:9: load.ramp.to: required`},
		{"step ends below zero", strings.Replace(valid, "  vus: 2\n  duration: 5s\n", "  step: {start: 10, step: -5, every: 1s, steps: 3}\n", 1), `p.yaml:9: load.step: the last step has -5 VUs`},
		{"spike too short", strings.Replace(valid, "  vus: 2\n  duration: 5s\n", "  spike: {peak: 9, at: 10s, hold: 5s, duration: 12s}\n", 1), `p.yaml:9: load.spike.duration: 12s is shorter than at + hold`},
		{"negative graceful stop", valid + "  graceful_stop: -1s\n", `p.yaml:11: load.graceful_stop: must be ≥ 0, got -1s`},
		{"think min over max", valid + "think: 2s-1s\n", `p.yaml:11: think: min 2s is more than max 1s`},
		{"think bad max", valid + "think: 1s-soon\n", `p.yaml:11: think: max: want a duration`},
		{"think map min over max", valid + "think: {min: 3s, max: 1s}\n", `p.yaml:11: think: min 3s is more than max 1s`},
		{"negative rps limit", valid + "rps_limit: -1\n", `p.yaml:11: rps_limit: must be ≥ 0 (0: no limit), got -1`},
		{"rps limit not a number", valid + "rps_limit: lots\n", `p.yaml:11: rps_limit: want a number, got "lots"`},
		{"negative timeout", valid + "timeout: -1s\n", `p.yaml:11: timeout: must be > 0, got -1s`},
		{"bad base url", strings.Replace(valid, "http://127.0.0.1:8080", "127.0.0.1:8080", 1), `p.yaml:2: base_url: must be an absolute http or https URL with a host, got "127.0.0.1:8080"`},
		{"bad request url", strings.Replace(valid, "{path: /}", "{url: 'ftp://h/x'}", 1), `p.yaml:7: scenario.tasks[0].requests[0].url: must be an absolute http or https URL`},
		{"path and url", strings.Replace(valid, "{path: /}", "{path: /, url: 'http://h/'}", 1), `p.yaml:7: scenario.tasks[0].requests[0].url: give path or url, not both`},
		{"neither path nor url", strings.Replace(valid, "{path: /}", "{name: x}", 1), `p.yaml:7: scenario.tasks[0].requests[0]: needs a path`},
		{"path without base url", strings.Replace(valid, "base_url: http://127.0.0.1:8080\n", "", 1), `p.yaml:6: scenario.tasks[0].requests[0].path: needs base_url`},
		{"bad method", strings.Replace(valid, "{path: /}", "{path: /, method: 'GE T'}", 1), `p.yaml:7: scenario.tasks[0].requests[0].method: bad method "GE T"`},
		{"bad header name", strings.Replace(valid, "{path: /}", "{path: /, headers: {'X Y': 1}}", 1), `p.yaml:7: scenario.tasks[0].requests[0].headers.X Y: bad header name`},
		{"zero weight", strings.Replace(valid, "- name: browse", "- name: browse\n      weight: 0", 1), `p.yaml:6: scenario.tasks[0].weight: must be 1 to 1000000, got 0`},
		{"task without requests", strings.Replace(valid, "      requests:\n        - {path: /}\n", "", 1), `p.yaml:5: scenario.tasks[0]: needs at least one request`},
		{"no tasks", strings.Replace(valid, "  tasks:\n    - name: browse\n      requests:\n        - {path: /}\n", "  setup: []\n", 1), `p.yaml:3: scenario.tasks: needs at least one task`},
		{"request and requests", strings.Replace(valid, "      requests:", "      request: {path: /x}\n      requests:", 1), `p.yaml:6: scenario.tasks[0].request: give request or requests, not both`},
		{"one name, two endpoints", strings.Replace(valid, "{path: /}", "{name: a, path: /}\n        - {name: a, path: /json}", 1), `p.yaml:8: scenario.tasks[0].requests[1].name: "a" already names GET http://127.0.0.1:8080/`},
		{"missing body file", strings.Replace(valid, "{path: /}", "{path: /, body: '@nope.json'}", 1), `p.yaml:7: scenario.tasks[0].requests[0].body: open nope.json: no such file`},
		{"duplicate key", valid + "name: again\n", `p.yaml:11: name: given twice (first at line 1)`},
		{"malformed yaml", "load: [1, 2\n  vus: x", `p.yaml:`},
		{"empty", "", `p.yaml: the plan is empty`},
		{"only comments", "# nothing\n", `p.yaml: the plan is empty`},
		{"null document", "~\n", `p.yaml:1: the plan is empty`},
		{"two documents", valid + "---\nname: b\n", `p.yaml:11: a plan is one YAML document`},
		{"not a mapping", "- a\n- b\n", `p.yaml:1: want a mapping, got a list`},
		{"merge into itself", "headers: &a\n  <<: *a\n", `merge (<<) includes the mapping itself`},
		{"question mark in flow", strings.Replace(valid, "{path: /}", "{path: /d?ms=1}", 1), `quote a value that holds a '?'`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, tc.src)
			if err == nil {
				t.Fatalf("no error for:\n%s", tc.src)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q\nwant it to contain %q", msg, tc.want)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

func TestAliasExpansionIsBounded(t *testing.T) {
	// A few kilobytes that expand to 1000 tasks x 1000 requests x 1000 headers.
	var hs, qs, ts []string
	for i := 0; i < 1000; i++ {
		hs = append(hs, fmt.Sprintf("H%d: v", i))
		qs = append(qs, "*q")
		ts = append(ts, "    - *t")
	}
	src := "base_url: http://h\nscenario:\n  setup:\n    - &q {path: /, headers: &h {" + strings.Join(hs, ", ") + "}}\n" +
		"  tasks:\n    - &t {requests: [" + strings.Join(qs, ", ") + "]}\n" + strings.Join(ts, "\n") + "\n"
	_, err := Parse([]byte(src), "bomb.yaml")
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Fatalf("want the expansion refused, got %v", err)
	}
}

func TestBuildGivesTheRunSpec(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "order.json"), []byte(`{"sku":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `base_url: http://127.0.0.1:8080/api/
headers: &common
  User-Agent: loadforge
  Accept: text/plain
scenario:
  setup:
    - {name: login, method: post, path: /login, body: 'hello'}
  tasks:
    - name: browse
      weight: 3
      requests:
        - {path: /items}
        - url: http://127.0.0.1:9090/x?y=1
          headers: {accept: application/json, X-Trace: "7"}
    - request:
        method: PUT
        path: orders
        body: '@order.json'
    - {weight: 2, request: {path: /at, body: '@@literal'}}
  teardown:
    - {name: logout, path: /logout}
load:
  stages:
    - {duration: 2s, target: 4}
    - 3s:4
think: 10ms-20ms
rps_limit: 12.5
`
	r, err := Parse([]byte(src), filepath.Join(dir, "shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "shop" {
		t.Errorf("name %q, want the file's base name", p.Name)
	}
	common := [][2]string{{"User-Agent", "loadforge"}, {"Accept", "text/plain"}}
	want := schemas.Scenario{
		Setup: []schemas.Request{{Name: "login", Method: "POST", URL: "http://127.0.0.1:8080/api/login", Headers: common, Body: []byte("hello")}},
		Tasks: []schemas.Task{
			{Name: "browse", Weight: 3, Requests: []schemas.Request{
				{Name: "GET /items", Method: "GET", URL: "http://127.0.0.1:8080/api/items", Headers: common},
				{Name: "GET /x?y=1", Method: "GET", URL: "http://127.0.0.1:9090/x?y=1",
					Headers: [][2]string{{"User-Agent", "loadforge"}, {"accept", "application/json"}, {"X-Trace", "7"}}},
			}},
			{Name: "task 2", Weight: 1, Requests: []schemas.Request{
				{Name: "PUT orders", Method: "PUT", URL: "http://127.0.0.1:8080/api/orders", Headers: common, Body: []byte(`{"sku":1}`)},
			}},
			{Name: "task 3", Weight: 2, Requests: []schemas.Request{
				{Name: "GET /at", Method: "GET", URL: "http://127.0.0.1:8080/api/at", Headers: common, Body: []byte("@literal")},
			}},
		},
		Teardown: []schemas.Request{{Name: "logout", Method: "GET", URL: "http://127.0.0.1:8080/api/logout", Headers: common}},
	}
	if !reflect.DeepEqual(p.Spec.Scenario, want) {
		t.Errorf("scenario\n got %+v\nwant %+v", p.Spec.Scenario, want)
	}
	if p.Spec.ThinkMinNs != int64(10*time.Millisecond) || p.Spec.ThinkMaxNs != int64(20*time.Millisecond) {
		t.Errorf("think %d..%d ns", p.Spec.ThinkMinNs, p.Spec.ThinkMaxNs)
	}
	if p.Spec.TimeoutNs != int64(schemas.DefaultTimeout) || p.GracefulStop != schemas.DefaultGracefulStop {
		t.Errorf("timeout %d ns, graceful stop %s: want the defaults", p.Spec.TimeoutNs, p.GracefulStop)
	}
	if p.Spec.RPSLimit != 12.5 || p.Spec.SchemaVersion != schemas.Version {
		t.Errorf("rps limit %g, schema version %d", p.Spec.RPSLimit, p.Spec.SchemaVersion)
	}
	wantPattern := pattern.Pattern{Stages: []pattern.Stage{{Duration: 2 * time.Second, Target: 4}, {Duration: 3 * time.Second, Target: 4}}}
	if !reflect.DeepEqual(p.Pattern, wantPattern) {
		t.Errorf("pattern %+v, want %+v", p.Pattern, wantPattern)
	}
}

func TestLoadFormsCompileToTheirPatterns(t *testing.T) {
	cases := []struct {
		load string
		want pattern.Pattern
	}{
		{"vus: 7\n  duration: 1m", pattern.Constant(7, time.Minute)},
		{"duration: 10s", pattern.Constant(1, 10*time.Second)},
		{"ramp: {to: 100, duration: 1m}", pattern.Ramp(0, 100, time.Minute)},
		{"ramp: {from: 5, to: 1, duration: 1m}", pattern.Ramp(5, 1, time.Minute)},
		{"step: {start: 10, step: 10, every: 10s, steps: 5}", pattern.Step(10, 10, 10*time.Second, 5)},
		{"spike: {base: 10, peak: 200, at: 10s, hold: 5s, duration: 30s}", pattern.Spike(10, 200, 10*time.Second, 5*time.Second, 30*time.Second)},
	}
	for _, tc := range cases {
		src := "base_url: http://h\nscenario: {tasks: [{request: {path: /}}]}\nload:\n  " + tc.load + "\n"
		p, err := build(t, src)
		if err != nil {
			t.Errorf("%s: %v", tc.load, err)
			continue
		}
		if !reflect.DeepEqual(p.Pattern, tc.want) {
			t.Errorf("%s: pattern %+v, want %+v", tc.load, p.Pattern, tc.want)
		}
		if p.Load == "" {
			t.Errorf("%s: no description", tc.load)
		}
	}
}

func TestZeroGracefulStopIsKept(t *testing.T) {
	p, err := build(t, valid+"  graceful_stop: 0s\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.GracefulStop != 0 {
		t.Errorf("graceful stop %s, want 0 as written", p.GracefulStop)
	}
}

func ov(key, origin string, values ...string) Override {
	return Override{Key: key, Values: values, Origin: origin}
}

func TestOverridesReplacePlanSettings(t *testing.T) {
	stagesPlan := strings.Replace(valid, "  vus: 2\n  duration: 5s\n", "  stages: [{duration: 1s, target: 3}]\n", 1)
	cases := []struct {
		name      string
		src       string
		overrides []Override
		check     func(t *testing.T, p *Plan)
	}{
		{"duration alone keeps the plan's vus", valid, []Override{ov(KeyDuration, "--duration", "9s")}, func(t *testing.T, p *Plan) {
			if !reflect.DeepEqual(p.Pattern, pattern.Constant(2, 9*time.Second)) {
				t.Errorf("pattern %+v", p.Pattern)
			}
		}},
		{"vus and duration replace stages", stagesPlan, []Override{ov(KeyVUs, "--vus", "4"), ov(KeyDuration, "--duration", "3s")}, func(t *testing.T, p *Plan) {
			if !reflect.DeepEqual(p.Pattern, pattern.Constant(4, 3*time.Second)) {
				t.Errorf("pattern %+v", p.Pattern)
			}
		}},
		{"stages replace vus and duration", valid, []Override{ov(KeyStages, "--stage", "2s:8", "1s:0")}, func(t *testing.T, p *Plan) {
			want := pattern.Pattern{Stages: []pattern.Stage{{Duration: 2 * time.Second, Target: 8}, {Duration: time.Second, Target: 0}}}
			if !reflect.DeepEqual(p.Pattern, want) {
				t.Errorf("pattern %+v", p.Pattern)
			}
		}},
		{"url replaces the scenario", valid, []Override{ov(KeyURL, "--url", "http://127.0.0.1:9/x"), ov(KeyMethod, "--method", "post"), ov(KeyBody, "--body", "hi")}, func(t *testing.T, p *Plan) {
			tasks := p.Spec.Scenario.Tasks
			if len(tasks) != 1 || len(tasks[0].Requests) != 1 {
				t.Fatalf("tasks %+v", tasks)
			}
			q := tasks[0].Requests[0]
			if q.URL != "http://127.0.0.1:9/x" || q.Method != "POST" || string(q.Body) != "hi" || q.Name != "POST /x" {
				t.Errorf("request %+v", q)
			}
		}},
		{"a url path joins base_url", valid, []Override{ov(KeyURL, "--url", "/json"), ov(KeyBaseURL, "LOADFORGE_BASE_URL", "http://127.0.0.1:7")}, func(t *testing.T, p *Plan) {
			if u := p.Spec.Scenario.Tasks[0].Requests[0].URL; u != "http://127.0.0.1:7/json" {
				t.Errorf("url %q", u)
			}
		}},
		{"headers replace by name, any case", "headers: {X-A: '1', X-B: '2'}\n" + valid, []Override{ov(KeyHeaders, "--header", "x-a: one", "X-C:3")}, func(t *testing.T, p *Plan) {
			want := [][2]string{{"x-a", "one"}, {"X-B", "2"}, {"X-C", "3"}}
			if got := p.Spec.Scenario.Tasks[0].Requests[0].Headers; !reflect.DeepEqual(got, want) {
				t.Errorf("headers %v, want %v", got, want)
			}
		}},
		{"scalars", valid, []Override{ov(KeyName, "--name", "n"), ov(KeyThink, "--think", "1s"), ov(KeyTimeout, "--timeout", "3s"),
			ov(KeyRPSLimit, "--rps-limit", "50"), ov(KeyGracefulStop, "--graceful-stop", "2s")}, func(t *testing.T, p *Plan) {
			s := p.Spec
			if p.Name != "n" || s.ThinkMinNs != int64(time.Second) || s.ThinkMaxNs != int64(time.Second) ||
				s.TimeoutNs != int64(3*time.Second) || s.RPSLimit != 50 || p.GracefulStop != 2*time.Second {
				t.Errorf("plan %+v", p)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.src), "p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Apply(tc.overrides); err != nil {
				t.Fatal(err)
			}
			p, err := r.Build()
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, p)
		})
	}
}

func TestOverrideErrorsNameTheirOrigin(t *testing.T) {
	cases := []struct {
		name      string
		overrides []Override
		want      string
	}{
		{"negative vus", []Override{ov(KeyVUs, "--vus", "-1")}, "--vus: must be ≥ 0, got -1"},
		{"env vus not a number", []Override{ov(KeyVUs, "LOADFORGE_VUS", "x")}, `LOADFORGE_VUS: want a whole number, got "x"`},
		{"bare duration", []Override{ov(KeyDuration, "--duration", "5")}, "--duration: 5 has no unit (write 5s)"},
		{"malformed stage", []Override{ov(KeyStages, "--stage", "30s")}, `--stage "30s": want DURATION:TARGET`},
		{"stage target", []Override{ov(KeyStages, "--stage", "1s:2", "1s:-4")}, `--stage "1s:-4": must be ≥ 0, got -4`},
		{"bad url", []Override{ov(KeyURL, "--url", "nope")}, `--url: must be an absolute http or https URL with a host, got "nope"`},
		{"bad method", []Override{ov(KeyURL, "--url", "http://h/"), ov(KeyMethod, "--method", "A B")}, `--method: bad method "A B"`},
		{"method without url", []Override{ov(KeyMethod, "--method", "POST")}, "--method: applies to the one-request scenario"},
		{"body file missing", []Override{ov(KeyURL, "--url", "http://h/"), ov(KeyBody, "--body", "@/nonexistent/b")}, "--body: open /nonexistent/b"},
		{"vus and stages", []Override{ov(KeyVUs, "--vus", "1"), ov(KeyStages, "LOADFORGE_STAGE", "1s:1")}, "--vus and LOADFORGE_STAGE: give one load form"},
		{"bad header", []Override{ov(KeyHeaders, "--header", "nocolon")}, `--header "nocolon": want 'Name: value'`},
		{"think", []Override{ov(KeyThink, "--think", "3s-1s")}, "--think: min 3s is more than max 1s"},
		{"rps", []Override{ov(KeyRPSLimit, "--rps-limit", "-2")}, "--rps-limit: must be ≥ 0"},
		{"timeout", []Override{ov(KeyTimeout, "--timeout", "0")}, "--timeout: must be > 0, got 0s"},
		{"graceful stop", []Override{ov(KeyGracefulStop, "--graceful-stop", "-1s")}, "--graceful-stop: must be ≥ 0, got -1s"},
		{"base url", []Override{ov(KeyBaseURL, "--base-url", "localhost:80")}, `--base-url: must be an absolute http or https URL`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(valid), "p.yaml")
			if err != nil {
				t.Fatal(err)
			}
			err = r.Apply(tc.overrides)
			if err == nil {
				_, err = r.Build()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPlanFromOverridesAlone(t *testing.T) {
	r := New()
	if err := r.Apply([]Override{ov(KeyURL, "--url", "http://127.0.0.1:1/"), ov(KeyVUs, "--vus", "3"), ov(KeyDuration, "--duration", "2s")}); err != nil {
		t.Fatal(err)
	}
	p, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "" || !reflect.DeepEqual(p.Pattern, pattern.Constant(3, 2*time.Second)) {
		t.Errorf("plan %+v", p)
	}
	if q := p.Spec.Scenario.Tasks[0].Requests[0]; q.Name != "GET /" || q.Method != "GET" {
		t.Errorf("request %+v", q)
	}

	// Without a load, the error names the field, not a file.
	r = New()
	if err := r.Apply([]Override{ov(KeyURL, "--url", "http://127.0.0.1:1/")}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(); err == nil || !strings.HasPrefix(err.Error(), "load: give one load form") {
		t.Errorf("error %v", err)
	}
}

func TestExamplePlansBuild(t *testing.T) {
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example plans: %v", err)
	}
	for _, f := range files {
		r, err := ReadFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if _, err := r.Build(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestMergeKeysAndAnchors(t *testing.T) {
	src := `base_url: http://h
headers: &common {A: '1', B: '2'}
scenario:
  tasks:
    - &browse
      name: browse
      request: {path: /, headers: {<<: *common, B: '3'}}
    - {<<: *browse, name: again, weight: 2}
load: {vus: 1, duration: 1s}
`
	p, err := build(t, src)
	if err != nil {
		t.Fatal(err)
	}
	tasks := p.Spec.Scenario.Tasks
	if len(tasks) != 2 || tasks[1].Name != "again" || tasks[1].Weight != 2 || tasks[1].Requests[0].URL != "http://h/" {
		t.Fatalf("tasks %+v", tasks)
	}
	want := [][2]string{{"B", "3"}, {"A", "1"}}
	if got := tasks[0].Requests[0].Headers; !reflect.DeepEqual(got, want) {
		t.Errorf("headers %v, want %v (own keys win over merged ones)", got, want)
	}
}
