package main_test

// End-to-end tests of the CI outputs: --junit from real runs, and compare on
// two real results.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	gojunit "github.com/joshdk/go-junit"
)

// comparePlan has a fast endpoint and one that answers after delayMs.
func comparePlan(t *testing.T, dir, name, base string, delayMs int) string {
	t.Helper()
	p := filepath.Join(dir, name+".yaml")
	plan := fmt.Sprintf(`name: %s
base_url: %s
scenario:
  tasks:
    - requests:
        - {name: home, path: /}
        - {name: slow, path: '/delay?ms=%d'}
load: {vus: 4, duration: 2s}
`, name, base, delayMs)
	if err := os.WriteFile(p, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Two real runs, the second with a slower endpoint: compare flags that
// endpoint (and only it) with a rule, and passes without one.
func TestCompareFlagsTheSlowerEndpoint(t *testing.T) {
	target := startTarget(t)
	dir := t.TempDir()
	const fastMs, slowMs = 5, 80
	results := map[string]string{}
	for _, run := range []struct {
		name  string
		delay int
	}{{"base", fastMs}, {"new", slowMs}} {
		out := filepath.Join(dir, run.name+".json")
		junitFile := filepath.Join(dir, run.name+".xml")
		code, stdout, stderr := runLoadforge(t, "run", comparePlan(t, dir, run.name, target, run.delay), "--quiet", "--out", out, "--junit", junitFile)
		if code != 0 {
			t.Fatalf("%s run: exit %d\n%s\n%s", run.name, code, stdout, stderr)
		}
		results[run.name] = out
		r, _ := readResult(t, out)
		suites, err := gojunit.IngestFile(junitFile)
		if err != nil {
			t.Fatalf("%s junit: %v", run.name, err)
		}
		if len(suites) != 1 || suites[0].Name != "run" || len(suites[0].Tests) != 1 || suites[0].Tests[0].Status != gojunit.StatusPassed {
			t.Errorf("%s junit: want one passing run testcase (no thresholds or checks), got %+v", run.name, suites)
		} else if got, want := suites[0].Tests[0].Duration, time.Duration(r.DurationS*float64(time.Second)); got < want-time.Millisecond || got > want+time.Millisecond {
			t.Errorf("%s junit: run time %s, the result says %s", run.name, got, want)
		}
	}
	base, cur := results["base"], results["new"]

	code, stdout, stderr := runLoadforge(t, "compare", base, cur)
	if code != 0 || stderr != "" {
		t.Fatalf("compare without rules: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"GET home", "GET slow", "total", "no --fail-if rules"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, stdout)
		}
	}

	// The slow endpoint's median rises by about 75 ms; the fast one's stays far below the limit.
	rule := fmt.Sprintf("p50>+%dms", (slowMs-fastMs)/2)
	code, stdout, stderr = runLoadforge(t, "compare", base, cur, "--fail-if", rule, "--format", "json")
	if code != 99 {
		t.Fatalf("compare --fail-if %s: exit %d, want 99\n%s\n%s", rule, code, stdout, stderr)
	}
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "GET slow ("+rule+")") || strings.Contains(lines[0], "GET home") {
		t.Errorf("stderr should name the slow endpoint alone (the total may join it): %q", stderr)
	}
	var rep struct {
		SchemaVersion int      `json:"schema_version"`
		Rules         []string `json:"rules"`
		Regressions   int      `json:"regressions"`
		Endpoints     []struct {
			Name    string `json:"name"`
			Method  string `json:"method"`
			Verdict string `json:"verdict"`
			Failed  []struct {
				Rule   string  `json:"rule"`
				Metric string  `json:"metric"`
				Diff   float64 `json:"diff"`
			} `json:"failed"`
			P50 struct {
				Base, New *float64
			} `json:"p50"`
		} `json:"endpoints"`
		Totals struct {
			Verdict string `json:"verdict"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("json report: %v\n%s", err, stdout)
	}
	if rep.SchemaVersion != 1 || len(rep.Rules) != 1 || rep.Rules[0] != rule || len(rep.Endpoints) != 2 {
		t.Fatalf("json report: %+v", rep)
	}
	verdicts := map[string]string{}
	for _, e := range rep.Endpoints {
		verdicts[e.Name] = e.Verdict
		if e.Name == "slow" {
			if len(e.Failed) != 1 || e.Failed[0].Metric != "p50" || e.Failed[0].Diff <= float64(slowMs-fastMs)/2 {
				t.Errorf("slow endpoint's breach: %+v", e.Failed)
			}
			if e.P50.Base == nil || e.P50.New == nil || *e.P50.Base < fastMs || *e.P50.New < slowMs {
				t.Errorf("slow endpoint's p50 %v → %v: the target's delays are %d and %d ms", e.P50.Base, e.P50.New, fastMs, slowMs)
			}
		}
	}
	if verdicts["slow"] != "fail" || verdicts["home"] != "ok" {
		t.Errorf("verdicts %v, want slow fail and home ok", verdicts)
	}
	wantRegressions := 1
	if rep.Totals.Verdict == "fail" {
		wantRegressions++
	}
	if rep.Regressions != wantRegressions {
		t.Errorf("regressions %d, the rows say %d", rep.Regressions, wantRegressions)
	}

	// A run held against itself passes the strictest rules.
	if code, stdout, stderr := runLoadforge(t, "compare", cur, cur, "--fail-if", "p99>+0%", "--fail-if", "rps<-0%", "--fail-if", "error_rate>+0"); code != 0 {
		t.Errorf("a result against itself: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// The same rule as a pull-request comment: one table, the slow row flagged.
	code, stdout, _ = runLoadforge(t, "compare", base, cur, "--fail-if", rule, "--format", "markdown")
	if code != 99 {
		t.Errorf("markdown: exit %d, want 99", code)
	}
	var table []string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(l, "|") {
			table = append(table, l)
		}
	}
	if len(table) != 5 { // header, alignment, home, slow, total
		t.Fatalf("markdown table has %d lines, want 5:\n%s", len(table), stdout)
	}
	for _, l := range table {
		if n := strings.Count(l, "|") - strings.Count(l, `\|`); n != 10 {
			t.Errorf("%d cell separators, want 10: %s", n, l)
		}
	}
	for _, l := range table[2:4] {
		flagged := strings.Contains(l, "**✗ p50&gt;+")
		if strings.HasPrefix(l, "| GET slow |") != flagged {
			t.Errorf("only the slow row should be flagged: %s", l)
		}
	}
}

func TestJUnitWrittenForAnInterruptedRun(t *testing.T) {
	target := startTarget(t)
	junitFile := filepath.Join(t.TempDir(), "junit.xml")
	cmd, lw := startRun(t, "--url", target+"/delay?ms=10", "--vus", "4", "--duration", "1m", "--graceful-stop", "5s", "--junit", junitFile)
	cmd.Process.Signal(syscall.SIGINT)
	if code := exitCode(t, cmd, lw); code != 130 {
		t.Fatalf("exit %d, want 130:\n%s", code, lw)
	}
	suites, err := gojunit.IngestFile(junitFile)
	if err != nil {
		t.Fatal(err)
	}
	run := suites[0].Tests[0]
	if run.Status != gojunit.StatusError || !strings.Contains(run.Message, "interrupted") {
		t.Errorf("run testcase %s %q, want an error saying it was interrupted", run.Status, run.Message)
	}
	if !regexp.MustCompile(`state interrupted after [0-9.]+ s: [1-9][0-9]* requests`).MatchString(run.SystemOut) {
		t.Errorf("run testcase output %q", run.SystemOut)
	}
}

func TestUnwritableJUnitExitsTwoAtOnce(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no", "junit.xml")
	began := time.Now()
	code, _, stderr := runLoadforge(t, "run", "--url", "http://127.0.0.1:1/", "--vus", "1", "--duration", "30s", "--junit", missing)
	if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--junit "+missing) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if d := time.Since(began); d > 20*time.Second {
		t.Errorf("took %s: the run started before the check", d)
	}
}

func TestCompareBadInputExitsTwoWithOneLine(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if code, _, stderr := runLoadforge(t, "run", "--url", "http://127.0.0.1:1/", "--vus", "1", "--duration", "1s", "--quiet", "--out", good); code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	plan := filepath.Join(dir, "plan.yaml")
	os.WriteFile(plan, []byte("name: x\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"compare", good, filepath.Join(dir, "nope.json")}, "nope.json"},
		{"a plan, not a result", []string{"compare", plan, good}, "plan.yaml"},
		{"bad rule", []string{"compare", good, good, "--fail-if", "p95>>10%"}, "--fail-if"},
		{"bad format", []string{"compare", good, good, "--format", "xml"}, "--format"},
		{"three files", []string{"compare", good, good, good}, "compare takes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runLoadforge(t, tc.args...)
			if code != 2 || stdout != "" {
				t.Errorf("exit %d, want 2; stdout %q", code, stdout)
			}
			if lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n"); len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
				t.Errorf("stderr %q, want one line naming %q", stderr, tc.want)
			}
		})
	}
}
