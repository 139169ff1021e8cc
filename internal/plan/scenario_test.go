package plan

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

const scenarioPlan = `base_url: http://127.0.0.1:8080
vars: {api: /v1}
scenario:
  setup:
    - name: login
      method: POST
      path: /login
      json: {user: "u{{ .vu }}", n: 2}
      extract:
        token: {json: session.token}
  tasks:
    - request:
        name: me
        path: "{{ .api }}/me"
        query: {page: "{{ randInt 1 3 }}"}
        headers: {Authorization: "Bearer {{ .token }}"}
        timeout: 2s
        checks:
          - status: [200, 201]
          - {json: user, equals: "u{{ .vu }}"}
          - {header: Content-Type, contains: json}
          - {name: fast, latency_under: 200ms}
load: {iterations: 50, vus: 3}
`

func TestScenarioKeysReachTheSpec(t *testing.T) {
	p, err := build(t, scenarioPlan)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Spec
	if !reflect.DeepEqual(s.Vars, [][2]string{{"api", "/v1"}}) || !s.Cookies || s.Iterations != 50 {
		t.Errorf("vars %v, cookies %v, iterations %d", s.Vars, s.Cookies, s.Iterations)
	}
	login := s.Scenario.Setup[0]
	if login.JSON != `{"n":2,"user":"u{{ .vu }}"}` || !reflect.DeepEqual(login.Extract, []schemas.Extract{{Name: "token", From: "json", Expr: "session.token"}}) {
		t.Errorf("login %+v", login)
	}
	me := s.Scenario.Tasks[0].Requests[0]
	want := []schemas.Check{
		{Kind: "status", Status: []int{200, 201}},
		{Kind: "json", Path: "user", Op: "equals", Value: "u{{ .vu }}"},
		{Kind: "header", Path: "Content-Type", Value: "json"},
		{Name: "fast", Kind: "latency_under", LatencyUnderNs: 200e6},
	}
	if !reflect.DeepEqual(me.Checks, want) || me.TimeoutNs != 2e9 || me.URL != "http://127.0.0.1:8080/{{ .api }}/me" ||
		!reflect.DeepEqual(me.Query, [][2]string{{"page", "{{ randInt 1 3 }}"}}) {
		t.Errorf("me %+v", me)
	}
	if p.Pattern.Duration() != DefaultMaxDuration || p.Pattern.Stages[0].Target != 3 {
		t.Errorf("pattern %+v", p.Pattern)
	}
	if len(p.Uses) != 2 || strings.Join(p.Uses[1].Names, ", ") != "api (vars), token (extract), vu (built-in)" {
		t.Errorf("uses %+v", p.Uses)
	}
}

func TestBadScenarioPlansNameFieldAndLine(t *testing.T) {
	for name, tc := range map[string]struct{ old, new, want string }{
		"unknown name":            {"{{ .token }}", "{{ .tokn }}", "p.yaml:16: scenario.tasks[0].request.headers.Authorization: unknown name {{ .tokn }}"},
		"unknown function":        {"randInt 1 3", "dice 1 3", `p.yaml:15: scenario.tasks[0].request.query.page: function "dice" not defined`},
		"bad path":                {"session.token", "session..token", "p.yaml:10: scenario.setup[0].extract.token.json: bad JSON path"},
		"two check kinds":         {"- status: [200, 201]", "- {status: 200, body_contains: x}", "p.yaml:19: scenario.tasks[0].request.checks[0].body_contains: a check checks one thing"},
		"json without op":         {"{json: user, equals: \"u{{ .vu }}\"}", "{json: user}", "p.yaml:20: scenario.tasks[0].request.checks[1].json: a json check needs one of"},
		"two ops":                 {"equals: \"u{{ .vu }}\"", "equals: a, gt: 1", "p.yaml:20: scenario.tasks[0].request.checks[1].gt: a json check makes one comparison"},
		"contains on status":      {"- status: [200, 201]", "- {status: 200, contains: x}", "p.yaml:19: scenario.tasks[0].request.checks[0].contains: contains goes with json or header"},
		"no check kind":           {"- status: [200, 201]", "- {name: x}", "p.yaml:19: scenario.tasks[0].request.checks[0]: a check needs one of"},
		"bad status":              {"[200, 201]", "[200, x]", "p.yaml:19: scenario.tasks[0].request.checks[0].status[1]: want a whole number"},
		"two extract kinds":       {"{json: session.token}", "{json: a, header: b}", "p.yaml:10: scenario.setup[0].extract.token.header: give one of json, header, regex, cookie; json is given too"},
		"var is built-in":         {"{api: /v1}", "{vu: 1}", "p.yaml:2: vars.vu:"},
		"iterations zero":         {"iterations: 50", "iterations: 0", "p.yaml:23: load.iterations: must be > 0"},
		"iterations and duration": {"iterations: 50, vus: 3", "iterations: 50, vus: 3, duration: 5s", "load.duration: with iterations, give max_duration"},
		"body and json":           {"json: {user", "body: x\n      json: {user", "p.yaml:9: scenario.setup[0].json: give body or json, not both"},
	} {
		src := strings.Replace(scenarioPlan, tc.old, tc.new, 1)
		if src == scenarioPlan {
			t.Fatalf("%s: the change does not apply", name)
		}
		_, err := build(t, src)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v\nwant one line with %q", name, err, tc.want)
		}
	}
	_, err := build(t, strings.Replace(scenarioPlan, `path: "{{ .api }}/me"`, `url: "http://{{ .api }}/me"`, 1))
	if err == nil || !strings.Contains(err.Error(), "scheme and host cannot be templates") {
		t.Errorf("a templated host: %v", err)
	}
}

func TestDataSetsAreReadRelativeToThePlan(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "u.csv"), []byte("name,pw\na,1\nb,2\n"), 0o644)
	src := "base_url: http://127.0.0.1:8080\ndata:\n  users: {file: u.csv, pick: per_iteration, when_done: stop}\nscenario:\n  tasks:\n    - request: {path: \"/u/{{ .users.name }}\"}\nload: {vus: 1, duration: 1s}\n"
	plan := filepath.Join(dir, "p.yaml")
	os.WriteFile(plan, []byte(src), 0o644)
	r, err := ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := []schemas.DataSet{{Name: "users", Pick: "per_iteration", WhenDone: "stop", Columns: []string{"name", "pw"}, Rows: [][]string{{"a", "1"}, {"b", "2"}}}}
	if !reflect.DeepEqual(p.Spec.Data, want) {
		t.Errorf("data %+v", p.Spec.Data)
	}
	for _, bad := range []struct{ old, new, want string }{
		{"u.csv", "none.csv", ":3: data.users.file:"},
		{"when_done: stop", "when_done: never", ":3: data.users.when_done: want cycle or stop"},
		{"pick: per_iteration, when_done: stop", "pick: random, when_done: stop", "random rows never run out"},
		{"{{ .users.name }}", "{{ .users.email }}", `data set "users" has no column "email"`},
	} {
		os.WriteFile(plan, []byte(strings.Replace(src, bad.old, bad.new, 1)), 0o644)
		r, err := ReadFile(plan)
		if err == nil {
			_, err = r.Build()
		}
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want %q", bad.new, err, bad.want)
		}
	}
}

func TestIterationsOverride(t *testing.T) {
	r, err := Parse([]byte(valid), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Apply([]Override{ov(KeyIterations, "--iterations", "1000"), ov(KeyVUs, "--vus", "10"), ov(KeyDuration, "--duration", "1m")}); err != nil {
		t.Fatal(err)
	}
	p, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.Iterations != 1000 || p.Pattern.Stages[0].Target != 10 || p.Pattern.Duration().String() != "1m0s" {
		t.Errorf("iterations %d, pattern %+v", p.Spec.Iterations, p.Pattern)
	}
	r, _ = Parse([]byte(valid), "p.yaml")
	if err := r.Apply([]Override{ov(KeyIterations, "--iterations", "lots")}); err == nil || !strings.Contains(err.Error(), "--iterations") {
		t.Errorf("bad --iterations: %v", err)
	}
}
