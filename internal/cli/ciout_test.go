package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gojunit "github.com/joshdk/go-junit"

	"github.com/loadforge/loadforge/schemas"
)

func clearCompareEnv(t *testing.T) {
	t.Helper()
	for _, s := range compareSettings {
		t.Setenv(s.env(), "")
	}
}

// --junit (and --out) that cannot be written stop the run before it starts.
func TestUnwritableReportPathsExitTwoBeforeTheRun(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	u := "http://127.0.0.1:1/"
	run := []string{"run", "--url", u, "--vus", "1", "--duration", "1s"}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"junit in a missing directory", nil, append(run, "--junit", filepath.Join(dir, "no", "j.xml")), "--junit " + filepath.Join(dir, "no", "j.xml") + ": no directory " + filepath.Join(dir, "no") + " to write it in"},
		{"junit is a directory", nil, append(run, "--junit", dir), "--junit " + dir + ": is a directory"},
		{"junit from the environment", map[string]string{"LOADFORGE_JUNIT": filepath.Join(dir, "no", "j.xml")}, run, "LOADFORGE_JUNIT " + filepath.Join(dir, "no", "j.xml") + ": no directory"},
		{"junit is the out file", nil, append(run, "--out", filepath.Join(dir, "r"), "--junit", dir+"/./r"), "--junit " + dir + "/./r: is also the --out file"},
		{"out is a directory", nil, append(run, "--out", dir), "--out " + dir + ": is a directory"},
		{"out in a missing directory", nil, append(run, "--out", filepath.Join(dir, "no", "r.json")), "--out " + filepath.Join(dir, "no", "r.json") + ": no directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			inv := invoke(t, nil, tc.args...)
			if inv.code != ExitUsage {
				t.Errorf("exit %d, want 2", inv.code)
			}
			if inv.cfg != nil {
				t.Error("the run started")
			}
			if lines := strings.Split(strings.TrimRight(inv.stderr, "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr %q, want one line with %q", inv.stderr, tc.want)
			}
		})
	}
}

func TestJUnitInReadOnlyDirectoryExitsTwo(t *testing.T) {
	clearEnv(t)
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only directories")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	inv := invoke(t, nil, "run", "--url", "http://127.0.0.1:1/", "--vus", "1", "--duration", "1s", "--junit", filepath.Join(dir, "j.xml"))
	if inv.code != ExitUsage || inv.cfg != nil || !strings.Contains(inv.stderr, "cannot write in "+dir) {
		t.Errorf("exit %d, started %t, stderr %q", inv.code, inv.cfg != nil, inv.stderr)
	}
}

// The report is written whatever the run's end, as long as there is a result.
func TestJUnitWrittenForEveryEnding(t *testing.T) {
	clearEnv(t)
	cases := []struct {
		name     string
		res      *schemas.Result
		err      error
		code     int
		runError bool // the run testcase is an error
	}{
		{"completed", &schemas.Result{Name: "r", State: schemas.StateCompleted, Thresholds: []schemas.ThresholdResult{{Metric: "http_reqs", Expression: "count>1", OK: true, Value: 5}}}, nil, ExitOK, false},
		{"interrupted", &schemas.Result{Name: "r", State: schemas.StateInterrupted}, nil, ExitInterrupted, true},
		{"aborted", &schemas.Result{Name: "r", State: schemas.StateAborted, AbortReason: "threshold x failed"}, nil, ExitFailure, true},
		{"result not written", &schemas.Result{Name: "r", State: schemas.StateCompleted}, errors.New("write result: disk full"), ExitFailure, false},
		{"no result", nil, errors.New("collector ended early"), ExitFailure, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "junit.xml")
			inv := invoke(t, func() (*schemas.Result, error) { return tc.res, tc.err },
				"run", "--url", "http://127.0.0.1:1/", "--vus", "1", "--duration", "1s", "--junit", path)
			if inv.code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", inv.code, tc.code, inv.stderr)
			}
			suites, err := gojunit.IngestFile(path)
			if tc.res == nil {
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a run without a result wrote a report (%v)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			run := suites[0].Tests[0]
			if (run.Status == gojunit.StatusError) != tc.runError {
				t.Errorf("run testcase %s %q", run.Status, run.Message)
			}
			if tc.res.AbortReason != "" && !strings.Contains(run.Message, tc.res.AbortReason) {
				t.Errorf("run testcase %q does not say why it aborted", run.Message)
			}
			if n := len(tc.res.Thresholds); n > 0 && (len(suites) < 2 || len(suites[1].Tests) != n) {
				t.Errorf("want %d threshold testcases, got suites %+v", n, suites)
			}
		})
	}
}

func writeResultFile(t *testing.T, dir, name string, r *schemas.Result) string {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, string(data))
}

func compareResult(p95 float64) *schemas.Result {
	e := schemas.EndpointResult{Name: "home", Method: "GET", URL: "http://x/", Requests: 100, RPS: 10,
		LatencyMs: schemas.LatencyMs{P50: p95 / 2, P90: p95, P95: p95, P99: p95, Max: p95}}
	return &schemas.Result{SchemaVersion: schemas.ResultVersion, Name: "c", State: schemas.StateCompleted,
		Endpoints: []schemas.EndpointResult{e}, Totals: schemas.Totals{Requests: 100, RPS: 10, LatencyMs: e.LatencyMs}}
}

func TestCompareCommandExitCodes(t *testing.T) {
	clearEnv(t)
	clearCompareEnv(t)
	dir := t.TempDir()
	base := writeResultFile(t, dir, "base.json", compareResult(10))
	slower := writeResultFile(t, dir, "new.json", compareResult(20))
	notResult := writeFile(t, dir, "plan.json", `{"name": "x"}`)
	cases := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string // the one line on stderr, if any
		stdout string
	}{
		{"no rules", nil, []string{"compare", base, slower}, ExitOK, "", "no --fail-if rules"},
		{"rule kept", nil, []string{"compare", base, slower, "--fail-if", "p95>+150%"}, ExitOK, "", "no regression beyond p95>+150%"},
		{"rule broken", nil, []string{"compare", base, slower, "--fail-if", "p95>+10%", "--fail-if", "rps<-5%"}, ExitThreshold,
			"loadforge: compare: GET home (p95>+10%); total (p95>+10%)", "✗ p95>+10% (+100.0%)"},
		{"rules from the environment", map[string]string{"LOADFORGE_FAIL_IF": "rps<-5%\np99>+5ms"}, []string{"compare", base, slower}, ExitThreshold,
			"loadforge: compare: GET home (p99>+5ms); total (p99>+5ms)", ""},
		{"markdown", nil, []string{"compare", base, slower, "--format", "markdown"}, ExitOK, "", "| endpoint | req/s |"},
		{"json", map[string]string{"LOADFORGE_FORMAT": "json"}, []string{"compare", base, slower}, ExitOK, "", `"schema_version": 1`},
		{"bad rule", nil, []string{"compare", base, slower, "--fail-if", "p95>+10%", "--fail-if", "p95>10x"}, ExitUsage, `loadforge: --fail-if "p95>10x": want METRIC>+N%`, ""},
		{"bad rule in the environment", map[string]string{"LOADFORGE_FAIL_IF": "p97>+1%"}, []string{"compare", base, slower}, ExitUsage, `loadforge: LOADFORGE_FAIL_IF "p97>+1%": unknown metric`, ""},
		{"endpoint rule", nil, []string{"compare", base, slower, "--fail-if", "p95{endpoint:home}>+10%"}, ExitThreshold,
			"loadforge: compare: GET home (p95{endpoint:home}>+10%)", ""},
		{"misspelt endpoint", nil, []string{"compare", base, slower, "--fail-if", "p95{endpoint:hom}>+10%"}, ExitUsage,
			`loadforge: --fail-if "p95{endpoint:hom}>+10%": no endpoint "hom" in either result (endpoints: home)`, ""},
		{"bad format", nil, []string{"compare", base, slower, "--format", "html"}, ExitUsage, `loadforge: --format: want text, markdown or json, got "html"`, ""},
		{"one file", nil, []string{"compare", base}, ExitUsage, "loadforge: compare takes BASE.json and NEW.json, got 1 arguments", ""},
		{"missing file", nil, []string{"compare", base, filepath.Join(dir, "nope.json")}, ExitUsage, "nope.json: no such file or directory", ""},
		{"not a result", nil, []string{"compare", notResult, base}, ExitUsage, `plan.json: not a loadforge result (--out) document: no "schema_version"`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			inv := invoke(t, nil, tc.args...)
			if inv.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", inv.code, tc.code, inv.stdout, inv.stderr)
			}
			if tc.stderr == "" && inv.stderr != "" {
				t.Errorf("stderr %q", inv.stderr)
			}
			if tc.stderr != "" {
				lines := strings.Split(strings.TrimRight(inv.stderr, "\n"), "\n")
				if len(lines) != 1 || !strings.Contains(lines[0], tc.stderr) {
					t.Errorf("stderr %q, want one line with %q", inv.stderr, tc.stderr)
				}
			}
			if !strings.Contains(inv.stdout, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, inv.stdout)
			}
			if tc.code == ExitUsage && inv.stdout != "" {
				t.Errorf("a usage error printed a report:\n%s", inv.stdout)
			}
		})
	}
}
