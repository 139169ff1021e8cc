package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/csvout"
	"github.com/loadforge/loadforge/internal/report/browsertest"
	"github.com/loadforge/loadforge/schemas"
)

// stallPlan: two endpoints, one that stalls for stallMs at the start of
// every 2 s, one that always answers 503.
const stallMs = 700

func stallPlan(t *testing.T, base string) string {
	t.Helper()
	plan := filepath.Join(t.TempDir(), "stall.yaml")
	body := `name: stall-and-errors
base_url: ` + base + `
load: {vus: 4, duration: 6s, graceful_stop: 2s}
rps_limit: 200
scenario:
  tasks:
    - name: main
      requests:
        - {name: stall, path: '/stall?every=2s&ms=` + strconv.Itoa(stallMs) + `'}
        - {name: error, path: '/status?code=503'}
`
	if err := os.WriteFile(plan, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return plan
}

// chartTop reads the y-axis top (data-y1) of the chart with the given id.
func chartTop(t *testing.T, page, id string) float64 {
	t.Helper()
	i := strings.Index(page, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no chart %q in the page", id)
	}
	m := regexp.MustCompile(`data-y1="([^"]+)"`).FindStringSubmatch(page[i:])
	if m == nil {
		t.Fatalf("chart %q has no y axis", id)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestReportOfARunWithAStall: a run against the built-in target with a
// stalling endpoint and an erring one, with --report and --csv; then
// `loadforge report` of its result. The two pages are the same bytes; the
// page opens in Chromium with no console message and no request, and its
// charts show the stall; Python's csv module finds Locust's columns and the
// counts of the result.
func TestReportOfARunWithAStall(t *testing.T) {
	chromium := browsertest.Find(t)
	base := startTarget(t)
	dir := t.TempDir()
	out, page1, page2, prefix := filepath.Join(dir, "r.json"), filepath.Join(dir, "run.html"), filepath.Join(dir, "again.html"), filepath.Join(dir, "run")
	plan := stallPlan(t, base)
	code, _, stderr := runLoadforge(t, "run", plan, "--quiet", "--out", out, "--report", page1, "--csv", prefix)
	if code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	res, _ := readResult(t, out)
	if res.Plan != plan || res.Load != "4 VUs for 6s" {
		t.Fatalf("result plan %q load %q, want %q and the load for people", res.Plan, res.Load, plan)
	}
	if code, _, stderr := runLoadforge(t, "report", out, "-o", page2); code != 0 {
		t.Fatalf("report exit %d: %s", code, stderr)
	}
	a, err := os.ReadFile(page1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(page2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("run --report and report RESULT.json differ (%d and %d bytes)", len(a), len(b))
	}

	// The stall is in the data: some seconds of the stalling endpoint hold a
	// request of about stallMs; the erring endpoint's never do.
	stalled := 0
	for _, row := range res.Timeline {
		for _, e := range row.Endpoints {
			if e.Name == "stall" && e.LatencyMs.Max >= stallMs*0.8 {
				stalled++
			}
			if e.Name == "error" && e.LatencyMs.Max >= stallMs*0.8 {
				t.Fatalf("second %v: the erring endpoint took %v ms", row.TS, e.LatencyMs.Max)
			}
		}
	}
	if stalled < 2 {
		t.Fatalf("%d seconds show the stall, want at least 2 of a 6 s run stalling every 2 s", stalled)
	}
	// And in the charts: endpoints are sorted (error, stall); the stalling
	// one's latency axis reaches the stall, the erring one's stays far below.
	pageText := string(a)
	stallTop, errorTop := chartTop(t, pageText, "lat-1"), chartTop(t, pageText, "lat-0")
	if stallTop < stallMs*0.8 || errorTop >= stallTop {
		t.Fatalf("latency charts top at %v ms (stall) and %v ms (error): the stall does not stand out", stallTop, errorTop)
	}
	if !strings.Contains(pageText, "http_5xx") || !strings.Contains(pageText, "stall-and-errors") {
		t.Fatal("the page lacks the run's name or its error kind")
	}
	for _, m := range regexp.MustCompile(`(?i)\s(?:src|href|srcset|action|poster)="([^"]*)"`).FindAllStringSubmatch(pageText, -1) {
		if !strings.HasPrefix(m[1], "#") {
			t.Fatalf("the page references %q", m[1])
		}
	}
	loaded := browsertest.Load(t, chromium, page2)
	if len(loaded.Console) > 0 || len(loaded.Requests) > 0 {
		t.Fatalf("in chromium: console %q, requests %q", loaded.Console, loaded.Requests)
	}
	if !strings.Contains(loaded.DOM, `data-charts-drawn="`) || strings.Contains(loaded.DOM, `data-charts-drawn="0"`) {
		t.Fatal("the page's script did not draw")
	}

	checkLocustCSV(t, prefix, res)
}

// locustReader reads the --csv files as a Locust user's script would.
const locustReader = `
import csv, json, sys
prefix = sys.argv[1]
def read(name):
    with open(prefix + name, newline="") as f:
        r = csv.DictReader(f)
        return r.fieldnames, list(r)
out = {}
out["stats_header"], stats = read("_stats.csv")
out["history_header"], history = read("_stats_history.csv")
out["failures_header"], failures = read("_failures.csv")
def number(row, skip):
    for k, v in row.items():
        if k not in skip and v != "N/A":
            float(v)  # every figure parses
for row in stats + history:
    number(row, ("Type", "Name"))
agg = [r for r in stats if r["Name"] == "Aggregated"]
out["aggregated_requests"] = [int(r["Request Count"]) for r in agg]
out["endpoint_requests"] = sum(int(r["Request Count"]) for r in stats if r["Name"] != "Aggregated")
last, increments, agg_last, agg_rows, agg_falls = {}, 0, 0, 0, 0
for r in history:
    total = int(r["Total Request Count"])
    if r["Name"] == "Aggregated":
        agg_rows += 1
        agg_falls += total < agg_last
        agg_last = total
        continue
    key = (r["Type"], r["Name"])
    increments += total - last.get(key, 0)
    last[key] = total
out["history_increments"] = increments
out["history_aggregated_last"] = agg_last
out["history_aggregated_rows"] = agg_rows
out["history_aggregated_falls"] = agg_falls
out["failures"] = sum(int(r["Occurrences"]) for r in failures)
print(json.dumps(out))
`

func checkLocustCSV(t *testing.T, prefix string, res *schemas.Result) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("LOADFORGE_REQUIRE_PYTHON") == "1" {
			t.Fatal("python3 not found and LOADFORGE_REQUIRE_PYTHON=1")
		}
		t.Skip("python3 not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	outp, err := exec.CommandContext(ctx, python, "-c", locustReader, prefix).CombinedOutput()
	if err != nil {
		t.Fatalf("python csv reader: %v\n%s", err, outp)
	}
	var got struct {
		StatsHeader, HistoryHeader, FailuresHeader []string
		AggregatedRequests                         []uint64 `json:"aggregated_requests"`
		EndpointRequests                           uint64   `json:"endpoint_requests"`
		HistoryIncrements                          uint64   `json:"history_increments"`
		HistoryAggregatedLast                      uint64   `json:"history_aggregated_last"`
		HistoryAggregatedRows                      int      `json:"history_aggregated_rows"`
		HistoryAggregatedFalls                     int      `json:"history_aggregated_falls"`
		Failures                                   uint64   `json:"failures"`
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(outp, &raw); err != nil {
		t.Fatalf("python said %s", outp)
	}
	if err := json.Unmarshal(outp, &got); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{"stats_header": csvout.StatsHeader, "history_header": csvout.HistoryHeader, "failures_header": csvout.FailuresHeader} {
		var h []string
		if err := json.Unmarshal(raw[name], &h); err != nil || !slices.Equal(h, want) {
			t.Fatalf("%s: %q, want Locust's %q", name, h, want)
		}
	}
	// Locust's own names, spelled out here as its users' scripts spell them.
	for _, col := range []string{"Request Count", "Failure Count", "Median Response Time", "Average Content Size", "99.99%", "100%"} {
		var h []string
		_ = json.Unmarshal(raw["stats_header"], &h)
		if !slices.Contains(h, col) {
			t.Fatalf("stats.csv has no %q column", col)
		}
	}
	n := res.Totals.Requests
	if len(got.AggregatedRequests) != 1 || got.AggregatedRequests[0] != n || got.EndpointRequests != n {
		t.Fatalf("stats.csv: Aggregated %v, endpoints sum to %d; the result has %d requests", got.AggregatedRequests, got.EndpointRequests, n)
	}
	if got.HistoryIncrements != n || got.HistoryAggregatedLast != n || got.HistoryAggregatedFalls != 0 {
		t.Fatalf("history: endpoint rows add up to %d, Aggregated ends at %d (falls %d times); the result has %d requests",
			got.HistoryIncrements, got.HistoryAggregatedLast, got.HistoryAggregatedFalls, n)
	}
	if got.HistoryAggregatedRows != len(res.Timeline) {
		t.Fatalf("history: %d Aggregated rows, the timeline has %d seconds", got.HistoryAggregatedRows, len(res.Timeline))
	}
	if got.Failures != res.Totals.Errors {
		t.Fatalf("failures.csv: %d occurrences, the result has %d errors", got.Failures, res.Totals.Errors)
	}
}

// TestInterruptedRunWritesItsReportAndCSV: Ctrl-C ends the run with 130 and
// the report and CSV files of what ran, the same page as report RESULT.json.
func TestInterruptedRunWritesItsReportAndCSV(t *testing.T) {
	base := startTarget(t)
	dir := t.TempDir()
	out, page, prefix := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html"), filepath.Join(dir, "run")
	cmd, lw := startRun(t, "--url", base+"/delay?ms=20", "--vus", "4", "--duration", "1m", "--graceful-stop", "2s",
		"--out", out, "--report", page, "--csv", prefix)
	cmd.Process.Signal(syscall.SIGINT)
	if code := exitCode(t, cmd, lw); code != 130 {
		t.Fatalf("exit %d, want 130:\n%s", code, lw)
	}
	res, _ := readResult(t, out)
	a, err := os.ReadFile(page)
	if err != nil {
		t.Fatalf("no report after an interrupted run: %v", err)
	}
	if !bytes.Contains(a, []byte(`class="state interrupted"`)) {
		t.Fatal("the report does not say the run was interrupted")
	}
	again := filepath.Join(dir, "again.html")
	if code, _, stderr := runLoadforge(t, "report", out, "-o", again); code != 0 {
		t.Fatalf("report exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(a, b) {
		t.Fatal("the interrupted run's page differs from report RESULT.json's")
	}
	checkLocustCSV(t, prefix, res)
}
