package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadforge/loadforge/internal/csvout"
	"github.com/loadforge/loadforge/schemas"
)

func clearOutputEnv(t *testing.T) {
	t.Helper()
	clearEnv(t)
	for _, g := range [][]setting{outputSettings, reportSettings} {
		for _, s := range g {
			t.Setenv(s.env(), "")
		}
	}
}

// TestOutputPathsAreCheckedBeforeTheRun: an output that cannot be written
// stops the run before it starts, with one line naming the flag.
func TestOutputPathsAreCheckedBeforeTheRun(t *testing.T) {
	clearOutputEnv(t)
	dir := t.TempDir()
	u := "http://127.0.0.1:1/"
	run := []string{"run", "--url", u, "--vus", "1", "--duration", "1s"}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"report in no directory", nil, []string{"--report", filepath.Join(dir, "no", "r.html")}, "--report " + filepath.Join(dir, "no", "r.html") + ": no directory"},
		{"report is a directory", nil, []string{"--report", dir}, "is a directory"},
		{"report where nothing can be written", nil, []string{"--report", "/proc/r.html"}, "--report /proc/r.html: cannot write in /proc"},
		{"csv in no directory", nil, []string{"--csv", filepath.Join(dir, "no", "run")}, "--csv " + filepath.Join(dir, "no", "run") + ": no directory"},
		{"csv file is a directory", nil, []string{"--csv", filepath.Join(dir, "sub", "x")}, "is a directory"},
		{"report from the environment", map[string]string{"LOADFORGE_REPORT": "/nonexistent/r.html"}, nil, "LOADFORGE_REPORT /nonexistent/r.html: no directory"},
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub", "x"+csvout.HistorySuffix), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			inv := invoke(t, func() (*schemas.Result, error) {
				t.Error("a run started")
				return nil, errors.New("no run")
			}, append(append([]string{}, run...), tc.args...)...)
			if inv.code != ExitUsage || strings.Count(inv.stderr, "\n") != 1 || !strings.Contains(inv.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and one line with %q", inv.code, inv.stderr, tc.want)
			}
		})
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".loadforge-check-*")); len(leftovers) > 0 {
		t.Fatalf("the check left %v behind", leftovers)
	}
}

func sampleResult(state string) *schemas.Result {
	return &schemas.Result{
		SchemaVersion: schemas.ResultVersion, RunID: "r1", Name: "sample", State: state,
		StartedAt: "2026-01-02T10:00:00.000Z", EndedAt: "2026-01-02T10:00:02.000Z", DurationS: 2,
		Totals: schemas.Totals{Requests: 3, Errors: 1, StatusCodes: map[string]uint64{"200": 2, "500": 1},
			ErrorsByKind: map[string]uint64{"http_5xx": 1}, LatencyMs: schemas.LatencyMs{Min: 1, Mean: 2, P50: 2, Max: 3}},
		Endpoints: []schemas.EndpointResult{{Name: "home", Method: "GET", URL: "http://127.0.0.1:1/", Requests: 3, Errors: 1,
			StatusCodes: map[string]uint64{"200": 2, "500": 1}, ErrorsByKind: map[string]uint64{"http_5xx": 1}}},
		Timeline: []schemas.TimelineRow{
			{TS: 1, VUs: 1, Requests: 2, RPS: 2, Endpoints: []schemas.TimelineEndpoint{{Name: "home", Method: "GET", URL: "http://127.0.0.1:1/", Requests: 2}}},
			{TS: 2, VUs: 1, Requests: 1, Errors: 1, RPS: 1, Endpoints: []schemas.TimelineEndpoint{{Name: "home", Method: "GET", URL: "http://127.0.0.1:1/", Requests: 1, Errors: 1}}},
		},
	}
}

// TestInterruptedRunStillWritesItsFiles: an interrupted run exits 130 and
// leaves its report and CSV files; report RESULT.json makes the same page.
func TestInterruptedRunStillWritesItsFiles(t *testing.T) {
	clearOutputEnv(t)
	dir := t.TempDir()
	page, prefix := filepath.Join(dir, "r.html"), filepath.Join(dir, "run")
	res := sampleResult(schemas.StateInterrupted)
	inv := invoke(t, func() (*schemas.Result, error) { return res, nil },
		"run", "--url", "http://127.0.0.1:1/", "--vus", "1", "--duration", "1s", "--report", page, "--csv", prefix)
	if inv.code != ExitInterrupted {
		t.Fatalf("exit %d, want %d: %s", inv.code, ExitInterrupted, inv.stderr)
	}
	for _, p := range append([]string{page}, csvout.Paths(prefix)...) {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Fatalf("%s not written: %v", p, err)
		}
	}
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	resultFile := writeFile(t, dir, "r.json", string(data))
	again := filepath.Join(dir, "again.html")
	if inv := invoke(t, nil, "report", resultFile, "-o", again); inv.code != 0 {
		t.Fatalf("report: exit %d: %s", inv.code, inv.stderr)
	}
	a, _ := os.ReadFile(page)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) || !bytes.Contains(a, []byte("interrupted")) {
		t.Fatalf("the pages differ (%d and %d bytes) or lack the state", len(a), len(b))
	}
}

// TestReportCommandBadInput: one line naming what is wrong, exit 2.
func TestReportCommandBadInput(t *testing.T) {
	clearOutputEnv(t)
	dir := t.TempDir()
	good, _ := json.Marshal(sampleResult(schemas.StateCompleted))
	resultFile := writeFile(t, dir, "r.json", string(good))
	broken := writeFile(t, dir, "broken.json", "{\n  \"schema_version\": 1,\n  \"totals\": {,\n}")
	future := writeFile(t, dir, "future.json", `{"schema_version": 7}`)
	out := filepath.Join(dir, "r.html")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no result", []string{"report", "-o", out}, "report takes one RESULT.json, got 0 arguments"},
		{"no output", []string{"report", resultFile}, "give -o FILE.html or --csv PREFIX"},
		{"missing result", []string{"report", filepath.Join(dir, "nope.json"), "-o", out}, "nope.json: no such file or directory"},
		{"not json", []string{"report", broken, "-o", out}, "broken.json:3: not a result document"},
		{"other schema", []string{"report", future, "-o", out}, "future.json: schema_version 7, want 1"},
		{"output in no directory", []string{"report", resultFile, "-o", filepath.Join(dir, "no", "r.html")}, "-o " + filepath.Join(dir, "no", "r.html") + ": no directory"},
		{"csv in no directory", []string{"report", resultFile, "--csv", filepath.Join(dir, "no", "x")}, "--csv " + filepath.Join(dir, "no", "x") + ": no directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := invoke(t, nil, tc.args...)
			if inv.code != ExitUsage || strings.Count(inv.stderr, "\n") != 1 || !strings.Contains(inv.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 and one line with %q", inv.code, inv.stderr, tc.want)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a report was written from bad input: %v", err)
	}
	if inv := invoke(t, nil, "report", resultFile, "--csv", filepath.Join(dir, "only")); inv.code != 0 {
		t.Fatalf("report --csv alone: exit %d: %s", inv.code, inv.stderr)
	}
}
