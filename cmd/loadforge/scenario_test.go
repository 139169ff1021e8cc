package main_test

// End-to-end tests of scenarios that behave like users: the binary against a
// stateful login server (the demo target's login endpoints, served here so
// that the test reads what the server saw).

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/target"
	"github.com/loadforge/loadforge/schemas"
)

// loginServer is a stateful server: logins per user, 401s, visits per name.
func loginServer(t *testing.T) (*target.Handler, string) {
	t.Helper()
	h := target.NewHandler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

// writePlan writes a plan and its data files into a fresh directory.
func writePlan(t *testing.T, plan string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(p, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func usersCSV(n int) string {
	var b strings.Builder
	b.WriteString("user,password\n")
	for i := range n {
		fmt.Fprintf(&b, "user%02d,pw%02d\n", i, i)
	}
	return b.String()
}

func runPlan(t *testing.T, plan string, args ...string) (*schemas.Result, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runLoadforge(t, append([]string{"run", plan, "--quiet", "--out", out}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r, _ := readResult(t, out)
	return r, stdout
}

func endpointOf(t *testing.T, r *schemas.Result, name string) schemas.EndpointResult {
	t.Helper()
	for _, e := range r.Endpoints {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no endpoint %q in %+v", name, r.Endpoints)
	return schemas.EndpointResult{}
}

func checkOf(t *testing.T, e schemas.EndpointResult, name string) schemas.CheckCount {
	t.Helper()
	for _, c := range e.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("endpoint %s has no check %q: %+v", e.Name, name, e.Checks)
	return schemas.CheckCount{}
}

const loginFlow = `
base_url: %s
data:
  users: {file: users.csv, pick: per_vu}
scenario:
  setup:
    - name: login
      method: POST
      path: /login
      json: {user: "{{ .users.user }}", password: "{{ .users.password }}"}
      extract:
        token: {json: session.token}
      checks: [{status: 200}]
  tasks:
    - requests:
        - name: me
          path: /me
          headers: {Authorization: "Bearer {{ .token }}"}
          checks:
            - status: 200
            - {json: user, equals: "{{ .users.user }}"}
        - name: visit
          path: "/users/{{ .users.user }}"
`

// With a CSV of users and per_vu, every VU logs in once with its own row,
// carries its token, and no request gets a 401; the server's counts equal
// the result's.
func TestScenarioPerVULoginFlow(t *testing.T) {
	h, base := loginServer(t)
	const vus = 8
	plan := writePlan(t, fmt.Sprintf(loginFlow, base), map[string]string{"users.csv": usersCSV(vus)})
	r, stdout := runPlan(t, plan, "--vus", fmt.Sprint(vus), "--duration", "2s", "--think", "5ms")
	acc := h.Accounts()
	if len(acc.Logins) != vus {
		t.Errorf("%d users logged in, want %d: %v", len(acc.Logins), vus, acc.Logins)
	}
	for u, n := range acc.Logins {
		if n != 1 {
			t.Errorf("user %s logged in %d times, want once", u, n)
		}
	}
	if acc.Unauthorized != 0 || r.Totals.StatusCodes["401"] != 0 {
		t.Errorf("%d requests refused by the server, %d 401s in the result", acc.Unauthorized, r.Totals.StatusCodes["401"])
	}
	if r.Totals.Requests != h.Requests() || r.Totals.Errors != 0 {
		t.Errorf("result counts %d requests (%d errors), the server saw %d", r.Totals.Requests, r.Totals.Errors, h.Requests())
	}
	visit := endpointOf(t, r, "visit")
	var visits int
	for _, n := range acc.Visits {
		visits += n
	}
	if uint64(visits) != visit.Requests || len(acc.Visits) != vus {
		t.Errorf("server saw %d visits of %d names, result counts %d", visits, len(acc.Visits), visit.Requests)
	}
	me := endpointOf(t, r, "me")
	if c := checkOf(t, me, "json user equals {{ .users.user }}"); c.Passes != me.Requests || c.Fails != 0 {
		t.Errorf("the VUs' own user came back %d of %d times (%d fails)", c.Passes, me.Requests, c.Fails)
	}
	login := endpointOf(t, r, "login")
	if c := checkOf(t, login, "extract token"); c.Passes != vus || c.Fails != 0 {
		t.Errorf("extract token: %+v", c)
	}
	if r.Checks == nil || r.Checks.Fails != 0 || r.Checks.Passes == 0 {
		t.Errorf("checks totals %+v", r.Checks)
	}
	if !strings.Contains(stdout, "✓ status is 200") || !strings.Contains(stdout, "checks      100.00% passed") {
		t.Errorf("summary lacks the checks:\n%s", stdout)
	}
}

// Checks that must fail do, and are counted exactly; they do not change how
// requests count. A failed extraction is a failed check named after it.
func TestScenarioFailingChecksAreCountedExactly(t *testing.T) {
	_, base := loginServer(t)
	plan := writePlan(t, fmt.Sprintf(`
base_url: %s
scenario:
  tasks:
    - request:
        name: visit
        path: /users/alice
        extract:
          nothing: {json: no.such.field}
        checks:
          - status: 200
          - {status: [201, 202]}
          - {json: user, equals: nobody}
          - {name: visited, json: visits, gte: 1}
load: {iterations: 300, vus: 4}
`, base), nil)
	r, stdout := runPlan(t, plan)
	e := endpointOf(t, r, "visit")
	if e.Requests != 300 || e.Errors != 0 {
		t.Fatalf("visit: %d requests, %d errors; want 300 and 0", e.Requests, e.Errors)
	}
	for name, want := range map[string][2]uint64{
		"status is 200":           {300, 0},
		"status is 201 or 202":    {0, 300},
		"json user equals nobody": {0, 300},
		"visited":                 {300, 0},
		"extract nothing":         {0, 300},
	} {
		if c := checkOf(t, e, name); c.Passes != want[0] || c.Fails != want[1] {
			t.Errorf("%s: ✓ %d ✗ %d, want ✓ %d ✗ %d", name, c.Passes, c.Fails, want[0], want[1])
		}
	}
	if r.Checks == nil || r.Checks.Passes != 600 || r.Checks.Fails != 900 {
		t.Errorf("checks totals %+v, want 600 passes and 900 fails", r.Checks)
	}
	if !strings.Contains(stdout, "✗ json user equals nobody") || !strings.Contains(stdout, "✓ visited") {
		t.Errorf("summary lacks ✓/✗:\n%s", stdout)
	}
}

// per_iteration hands rows out in one order shared by all VUs: over 50 rows
// each is visited equally often, give or take one.
func TestScenarioPerIterationVisitsRowsEqually(t *testing.T) {
	h, base := loginServer(t)
	plan := writePlan(t, fmt.Sprintf(`
base_url: %s
data:
  users: {file: users.csv, pick: per_iteration}
scenario:
  tasks:
    - request: {name: visit, path: "/users/{{ .users.user }}"}
load: {iterations: 520, vus: 6}
`, base), map[string]string{"users.csv": usersCSV(50)})
	r, _ := runPlan(t, plan)
	acc := h.Accounts()
	if r.Totals.Iterations != 520 || len(acc.Visits) != 50 {
		t.Fatalf("%d iterations over %d rows", r.Totals.Iterations, len(acc.Visits))
	}
	for u, n := range acc.Visits {
		if n < 10 || n > 11 {
			t.Errorf("row %s visited %d times; 520 over 50 rows is 10 or 11 each", u, n)
		}
	}
}

// when_done: stop ends the run after the last row, completed.
func TestScenarioWhenDoneStopEndsAfterTheLastRow(t *testing.T) {
	h, base := loginServer(t)
	plan := writePlan(t, fmt.Sprintf(`
base_url: %s
data:
  users: {file: users.csv, pick: per_iteration, when_done: stop}
scenario:
  tasks:
    - request: {name: visit, path: "/users/{{ .users.user }}"}
load: {vus: 5, duration: 60s}
`, base), map[string]string{"users.csv": usersCSV(50)})
	start := time.Now()
	r, _ := runPlan(t, plan)
	acc := h.Accounts()
	if r.State != schemas.StateCompleted || r.Totals.Requests != 50 || len(acc.Visits) != 50 {
		t.Errorf("state %s, %d requests, %d rows visited; want completed, 50, 50", r.State, r.Totals.Requests, len(acc.Visits))
	}
	for u, n := range acc.Visits {
		if n != 1 {
			t.Errorf("row %s visited %d times", u, n)
		}
	}
	if took := time.Since(start); took > 40*time.Second {
		t.Errorf("the run took %s: it did not end when the rows ran out", took)
	}
}

// --iterations N --vus M makes exactly N iterations over all VUs, then completes.
func TestScenarioIterationsFlagIsExact(t *testing.T) {
	h, base := loginServer(t)
	r, _ := runForResult(t, "run", "--url", base+"/users/x", "--iterations", "1000", "--vus", "10", "--quiet")
	if r.State != schemas.StateCompleted || r.Totals.Iterations != 1000 || r.Totals.Requests != 1000 {
		t.Errorf("state %s, %d iterations, %d requests; want completed, 1000, 1000", r.State, r.Totals.Iterations, r.Totals.Requests)
	}
	if got := h.Accounts().Visits["x"]; got != 1000 {
		t.Errorf("the server saw %d requests", got)
	}
}

// The VU's cookie jar carries a session without any header in the plan; with
// cookies: false the same plan gets 401s.
func TestScenarioCookiesCarryTheSession(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprintf("cookies %v", on), func(t *testing.T) {
			h, base := loginServer(t)
			plan := writePlan(t, fmt.Sprintf(`
base_url: %s
cookies: %v
scenario:
  setup:
    - {name: login, method: POST, path: /cookie-login, json: {user: "u{{ .vu }}", password: pw}}
  tasks:
    - request:
        name: session
        path: /session
        checks: [{status: 200}, {body_contains: "u{{ .vu }}"}]
load: {iterations: 100, vus: 4}
`, base, on), nil)
			r, _ := runPlan(t, plan)
			e := endpointOf(t, r, "session")
			c := checkOf(t, e, "status is 200")
			acc := h.Accounts()
			if on && (acc.Unauthorized != 0 || c.Passes != 100 || checkOf(t, e, "body contains u{{ .vu }}").Passes != 100) {
				t.Errorf("with cookies: %d refused, status ✓ %d ✗ %d", acc.Unauthorized, c.Passes, c.Fails)
			}
			if !on && (acc.Unauthorized != 100 || c.Fails != 100) {
				t.Errorf("without cookies: %d refused, status ✓ %d ✗ %d; want 100 refused", acc.Unauthorized, c.Passes, c.Fails)
			}
			if len(acc.Logins) != 4 {
				t.Errorf("logins %v, want one per VU u1..u4", acc.Logins)
			}
		})
	}
}

// Bad scenario plans exit 2 with one line naming file:line.
func TestScenarioBadPlansExitTwoWithFileLine(t *testing.T) {
	good := `base_url: http://127.0.0.1:1
data:
  users: {file: users.csv, pick: per_vu}
scenario:
  tasks:
    - request:
        path: /me
        headers: {Authorization: "Bearer {{ .token }}"}
        extract:
          token: {json: session.token}
          n: {regex: 'count=(\d+)'}
load: {vus: 1, duration: 1s}
`
	for name, tc := range map[string]struct {
		old, new, csv, line string
	}{
		"unknown template name": {"{{ .token }}", "{{ .tokn }}", usersCSV(2), ":8:"},
		"unknown function":      {"{{ .token }}", "{{ secret }}", usersCSV(2), ":8:"},
		"unknown column":        {"{{ .token }}", "{{ .users.email }}", usersCSV(2), ":8:"},
		"bad gjson path":        {"session.token", "session..token", usersCSV(2), ":10:"},
		"bad regex":             {`count=(\d+)`, `count=(\d+`, usersCSV(2), ":11:"},
		"missing data file":     {"users.csv", "nope.csv", usersCSV(2), ":3:"},
		"csv with no header":    {"", "", "alice@example.com,secret\nbob@example.com,pw\n", ":3:"},
		"pick sometimes":        {"per_vu", "sometimes", usersCSV(2), ":3:"},
	} {
		t.Run(name, func(t *testing.T) {
			plan := writePlan(t, strings.Replace(good, tc.old, tc.new, 1), map[string]string{"users.csv": tc.csv})
			for _, cmd := range []string{"validate", "run"} {
				code, stdout, stderr := runLoadforge(t, cmd, plan)
				lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
				if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "plan.yaml"+tc.line) {
					t.Errorf("%s: exit %d, stderr %q (want exit 2, one line with plan.yaml%s)\n%s", cmd, code, stderr, tc.line, stdout)
				}
			}
		})
	}
	// The good plan is good.
	plan := writePlan(t, good, map[string]string{"users.csv": usersCSV(2)})
	code, stdout, stderr := runLoadforge(t, "validate", plan)
	if code != 0 || !strings.Contains(stdout, "token (extract)") {
		t.Errorf("validate the good plan: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// The login flow over two remote workers: rows are split so that no row goes
// to two VUs, no request gets a 401, and --iterations is split exactly.
func TestScenarioTwoRemoteWorkers(t *testing.T) {
	h, base := loginServer(t)
	const vus = 10
	plan := writePlan(t, fmt.Sprintf(loginFlow, base), map[string]string{"users.csv": usersCSV(vus)})
	addr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "r.json")
	coord := startProc(t, "coordinator", binary, "run", plan, "--iterations", "1000", "--vus", fmt.Sprint(vus),
		"--duration", "60s", "--listen", addr, "--token", "scn-s3cret", "--workers", "2", "--workers-timeout", "40s",
		"--out", out, "--quiet")
	url := coord.waitLine(`bus listening on (\S+)`)[1]
	startWorkerProc(t, "w1", "--nats", url, "--token", "scn-s3cret")
	startWorkerProc(t, "w2", "--nats", url, "--token", "scn-s3cret")
	if code := coord.exit(90 * time.Second); code != 0 {
		t.Fatalf("coordinator exit %d:\n%s", code, coord)
	}
	r, _ := readResult(t, out)
	acc := h.Accounts()
	if len(acc.Logins) != vus {
		t.Errorf("%d users logged in, want %d: %v", len(acc.Logins), vus, acc.Logins)
	}
	for u, n := range acc.Logins {
		if n != 1 {
			t.Errorf("user %s logged in %d times: a row went to two VUs", u, n)
		}
	}
	if acc.Unauthorized != 0 {
		t.Errorf("%d requests got a 401", acc.Unauthorized)
	}
	if r.State != schemas.StateCompleted || r.Totals.Iterations != 1000 {
		t.Errorf("state %s, %d iterations; want completed and 1000", r.State, r.Totals.Iterations)
	}
	if me := endpointOf(t, r, "me"); me.Requests != 1000 {
		t.Errorf("me sent %d times, want once per iteration: 1000", me.Requests)
	}
	if r.Totals.Requests != h.Requests() {
		t.Errorf("result counts %d requests, the server saw %d", r.Totals.Requests, h.Requests())
	}
	w := workersByName(r)
	if len(w) != 2 || w["w1"].Requests != w["w2"].Requests {
		t.Errorf("the workers' shares differ: %+v", r.Workers)
	}
}

// The documented example runs against `loadforge target` with every check passing.
func TestLoginFlowExampleAgainstTheTarget(t *testing.T) {
	base := startTarget(t)
	r, stdout := runPlan(t, filepath.Join("..", "..", "configs", "login-flow.yaml"), "--base-url", base, "--duration", "2s")
	if r.State != schemas.StateCompleted || r.Totals.Errors != 0 || r.Checks == nil || r.Checks.Fails != 0 || r.Checks.Passes == 0 {
		t.Errorf("state %s, %d errors, checks %+v\n%s", r.State, r.Totals.Errors, r.Checks, stdout)
	}
	if served := targetCount(t, base); served != r.Totals.Requests {
		t.Errorf("the target served %d requests, the result counts %d", served, r.Totals.Requests)
	}
	for _, name := range []string{"login", "cookie login", "me", "session", "visit user"} {
		if e := endpointOf(t, r, name); len(e.Checks) == 0 {
			t.Errorf("%s has no checks", name)
		}
	}
}

// A checks threshold judges the scenario's checks: all passing holds it,
// a check that always fails breaks it (exit 99).
func TestScenarioChecksThreshold(t *testing.T) {
	_, base := loginServer(t)
	for _, tc := range []struct {
		user string
		code int
	}{{"alice", 0}, {"nobody", 99}} {
		plan := writePlan(t, fmt.Sprintf(`
base_url: %s
scenario:
  tasks:
    - request:
        name: visit
        path: /users/alice
        checks: [{status: 200}, {json: user, equals: %s}]
load: {iterations: 50, vus: 2}
thresholds:
  checks: ["rate>0.9"]
`, base, tc.user), nil)
		code, stdout, stderr := runLoadforge(t, "run", plan, "--quiet")
		if code != tc.code {
			t.Errorf("checks equal to %s: exit %d, want %d\n%s\n%s", tc.user, code, tc.code, stdout, stderr)
		}
	}
}
