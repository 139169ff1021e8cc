package main_test

// Thresholds end to end: the built binary against the built-in target, whose
// endpoints have known delays and error rates.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/loadforge/loadforge/schemas"
)

// runThresholds runs args (a run) with --out and returns the exit code, the
// result and the summary.
func runThresholds(t *testing.T, args ...string) (int, *schemas.Result, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runLoadforge(t, append(append([]string{"run"}, args...), "--quiet", "--out", out)...)
	if code != 0 && code != 99 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r, _ := readResult(t, out)
	return code, r, stdout
}

// thresholdPlan writes a plan with three endpoints of known behaviour:
// fast (/), slow (/delay?ms=40) and broken (/status?code=500), one iteration
// doing all three.
func thresholdPlan(t *testing.T, base, load, thresholds string) string {
	t.Helper()
	plan := fmt.Sprintf(`name: verdicts
base_url: %s
scenario:
  tasks:
    - requests:
        - {name: fast, path: /}
        - {name: slow, path: "/delay?ms=40"}
        - {name: broken, method: GET, path: "/status?code=500"}
load: %s
thresholds:
%s`, base, load, thresholds)
	p := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(p, []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestThresholdOfEachKindPassesAndFails: the same run judged by thresholds
// that hold (exit 0) and by their opposites (exit 99), one of each kind.
func TestThresholdOfEachKindPassesAndFails(t *testing.T) {
	base := startTarget(t)
	pass := `  http_req_duration: ["max>=40", "min<40", "avg>10"]
  http_req_duration{endpoint:slow}: ["p(95)>=40", "med>=40"]
  http_req_duration{endpoint:fast}: ["p(99)<1s", "p(95)<1s over 1s"]
  http_req_duration{method:GET}: ["max<10s"]
  http_req_failed: ["rate>0.3", "rate<0.4"]
  http_req_failed{endpoint:broken}: ["rate==1"]
  http_req_failed{endpoint:fast}: ["rate==0"]
  http_reqs: ["count>30", "rate>5"]
  http_reqs{status:500}: ["count>10"]
  http_reqs{status:404}: ["count==0"]
  dropped_iterations: ["count==0"]
  iteration_duration: ["p(90)>=40", "min>=40"]
  http_req_waiting{endpoint:slow}: ["p(95)>=40"]
  http_req_receiving: ["max<40"]
  http_req_connecting: ["max<10s"]
  service_time{endpoint:slow}: ["min>=40"]
`
	fail := `  http_req_duration: ["max<40", "min>=40", "avg<10"]
  http_req_duration{endpoint:slow}: ["p(95)<40", "med<40"]
  http_req_duration{endpoint:fast}: ["p(99)>=1s", "p(95)>=1s over 1s"]
  http_req_duration{method:GET}: ["max>=10s"]
  http_req_failed: ["rate<0.3", "rate>0.4"]
  http_req_failed{endpoint:broken}: ["rate<1"]
  http_req_failed{endpoint:fast}: ["rate!=0"]
  http_reqs: ["count<30", "rate<5"]
  http_reqs{status:500}: ["count<10"]
  http_reqs{status:404}: ["count>0"]
  dropped_iterations: ["count>0"]
  iteration_duration: ["p(90)<40", "min<40"]
  http_req_waiting{endpoint:slow}: ["p(95)<40"]
  http_req_receiving: ["max>=40"]
  http_req_connecting: ["max>=10s"]
  service_time{endpoint:slow}: ["min<40"]
`
	const load = "{vus: 4, duration: 3s}"
	for _, c := range []struct {
		name     string
		body     string
		wantCode int
		wantOK   bool
	}{
		{"pass", pass, 0, true},
		{"fail", fail, 99, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := thresholdPlan(t, base, load, c.body)
			code, r, summary := runThresholds(t, plan)
			if code != c.wantCode {
				t.Errorf("exit %d, want %d:\n%s", code, c.wantCode, summary)
			}
			if want := strings.Count(c.body, `"`) / 2; len(r.Thresholds) != want {
				t.Fatalf("%d thresholds in the result, want %d", len(r.Thresholds), want)
			}
			for _, th := range r.Thresholds {
				if th.OK != c.wantOK {
					t.Errorf("%s %s: ok=%v value %g, want ok=%v", th.Metric, th.Expression, th.OK, th.Value, c.wantOK)
				}
				mark := "✓"
				if !th.OK {
					mark = "✗"
				}
				if !strings.Contains(summary, mark+" "+th.Metric+" "+th.Expression) {
					t.Errorf("summary lacks %s %s %s:\n%s", mark, th.Metric, th.Expression, summary)
				}
			}
			// The verdicts come right after the totals, before the endpoints.
			if i, j := strings.Index(summary, "thresholds  "), strings.Index(summary, "endpoint "); i < 0 || i > j {
				t.Errorf("thresholds not listed before the endpoints:\n%s", summary)
			}
		})
	}
}

// TestVariableThresholds: LOADFORGE_THRESHOLD holds one threshold per line
// (--threshold, when given, replaces it, as every flag does its variable).
func TestVariableThresholds(t *testing.T) {
	base := startTarget(t)
	out := filepath.Join(t.TempDir(), "r.json")
	cmd := []string{"run", "--url", base + "/status?code=503", "--vus", "2", "--duration", "1s", "--think", "5ms", "--quiet", "--out", out}
	t.Setenv("LOADFORGE_THRESHOLD", "http_req_failed:rate<0.01\nhttp_reqs:count>0\nhttp_req_duration:p(95)<10s")
	code, stdout, stderr := runLoadforge(t, cmd...)
	if code != 99 {
		t.Fatalf("exit %d, want 99: %s %s", code, stdout, stderr)
	}
	r, _ := readResult(t, out)
	if len(r.Thresholds) != 3 || r.Thresholds[0].OK || !r.Thresholds[1].OK || !r.Thresholds[2].OK {
		t.Errorf("thresholds %+v", r.Thresholds)
	}
	if !strings.Contains(stdout, "WARNING: every request failed") {
		t.Errorf("no warning that every request failed:\n%s", stdout)
	}
}

// TestEveryRequestFailedWarnsButExitsZero: without a threshold, a run whose
// requests all failed completes with exit 0 (as k6) and says so.
func TestEveryRequestFailedWarnsButExitsZero(t *testing.T) {
	base := startTarget(t)
	code, stdout, stderr := runLoadforge(t, "run", "--url", base+"/status?code=500", "--vus", "1", "--duration", "1s", "--think", "5ms", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "WARNING: every request failed") || !strings.Contains(stdout, "http_req_failed") {
		t.Errorf("summary lacks the warning:\n%s", stdout)
	}
}

// TestAbortOnFailStopsTheRun: a 60 s run whose threshold breaks from the
// first second, with abort_on_fail after 2 s, ends within seconds, aborted.
func TestAbortOnFailStopsTheRun(t *testing.T) {
	base := startTarget(t)
	plan := thresholdPlan(t, base, "{vus: 2, duration: 60s}", `  http_req_failed{endpoint:broken}:
    - {threshold: "rate<0.5", abort_on_fail: true, delay_abort_eval: 2s}
  http_req_duration: ["p(95)<10s"]
`)
	began := time.Now()
	code, r, summary := runThresholds(t, plan)
	took := time.Since(began)
	if code != 99 {
		t.Errorf("exit %d, want 99", code)
	}
	if took > 30*time.Second || r.DurationS > 15 {
		t.Errorf("run took %s (duration_s %.1f): abort_on_fail did not stop it", took, r.DurationS)
	}
	if r.DurationS < 2 {
		t.Errorf("duration_s %.1f: aborted before delay_abort_eval", r.DurationS)
	}
	if r.State != schemas.StateAborted || !strings.Contains(r.AbortReason, "http_req_failed{endpoint:broken}") {
		t.Errorf("state %q abort_reason %q", r.State, r.AbortReason)
	}
	if !r.Thresholds[0].Aborted || r.Thresholds[0].OK || r.Thresholds[1].Aborted || !r.Thresholds[1].OK {
		t.Errorf("thresholds %+v", r.Thresholds)
	}
	if r.Totals.Requests == 0 || !strings.Contains(summary, "aborted the run") {
		t.Errorf("%d requests; summary:\n%s", r.Totals.Requests, summary)
	}
}

// TestWindowedAgainstWholeRun: the target is slow (500 ms) for the first
// 2 s only. Over the whole run the slow requests are a few per cent, so
// p(90) passes there while a 1 s window at the start fails it; max fails on
// the whole run, while a breach that must last 5 s to count passes.
func TestWindowedAgainstWholeRun(t *testing.T) {
	base := startTarget(t)
	code, r, summary := runThresholds(t, "--url", base+"/slowstart?ms=2000&delay=500", "--vus", "5", "--duration", "8s", "--think", "10ms",
		"--threshold", "http_req_duration:p(90)<400",
		"--threshold", "http_req_duration:p(90)<400 over 1s",
		"--threshold", "http_req_duration:max<400",
		"--threshold", "http_req_duration:max<400 over 1s for 5s")
	if code != 99 {
		t.Errorf("exit %d, want 99", code)
	}
	want := []bool{true, false, false, true}
	if len(r.Thresholds) != len(want) {
		t.Fatalf("thresholds %+v", r.Thresholds)
	}
	for i, th := range r.Thresholds {
		if th.OK != want[i] {
			t.Errorf("%s %s: ok=%v value %g, want ok=%v\n%s", th.Metric, th.Expression, th.OK, th.Value, want[i], summary)
		}
	}
	// The windowed verdict shows its worst window: the slow start.
	if r.Thresholds[1].Value < 500 {
		t.Errorf("windowed p(90) shows %g ms, want the slow start's ≥ 500", r.Thresholds[1].Value)
	}
}

// TestTimeoutsCountInLatency: requests that all time out after 1 s have a
// latency of at least 1 s, which http_req_duration thresholds see.
func TestTimeoutsCountInLatency(t *testing.T) {
	base := startTarget(t)
	code, r, _ := runThresholds(t, "--url", base+"/delay?ms=1500", "--vus", "2", "--duration", "3s", "--timeout", "1s",
		"--threshold", "http_req_duration:p(50)<1000",
		"--threshold", "http_req_duration:p(50)>=1000")
	if code != 99 {
		t.Errorf("exit %d, want 99", code)
	}
	tot := r.Totals
	if tot.Requests == 0 || tot.ErrorsByKind["timeout"] != tot.Requests {
		t.Fatalf("want every request a timeout: %d requests, %v", tot.Requests, tot.ErrorsByKind)
	}
	if tot.LatencyMs.P50 < 1000 || r.Endpoints[0].LatencyMs.P50 < 1000 {
		t.Errorf("latency p50 %.1f ms (endpoint %.1f), want ≥ 1000", tot.LatencyMs.P50, r.Endpoints[0].LatencyMs.P50)
	}
	if tot.LatencyOkMs != (schemas.LatencyMs{}) {
		t.Errorf("latency_ok_ms %+v with no successful request", tot.LatencyOkMs)
	}
	if r.Thresholds[0].OK || !r.Thresholds[1].OK || r.Thresholds[0].Value < 1000 {
		t.Errorf("thresholds %+v", r.Thresholds)
	}
}

// TestRefusedRequestsWriteNothing: a refused connection is a request with no bytes out.
func TestRefusedRequestsWriteNothing(t *testing.T) {
	addr := freeAddr(t)
	code, r, _ := runThresholds(t, "--url", "http://"+addr+"/", "--vus", "1", "--duration", "1s", "--think", "5ms")
	if code != 0 {
		t.Errorf("exit %d", code)
	}
	if r.Totals.Requests == 0 || r.Totals.ErrorsByKind["refused"] != r.Totals.Requests || r.Totals.BytesOut != 0 {
		t.Errorf("%d requests, %v, %d bytes out; want all refused with 0 bytes out", r.Totals.Requests, r.Totals.ErrorsByKind, r.Totals.BytesOut)
	}
}

// TestTenMalformedThresholds: exit 2 and one line per bad threshold, each
// naming its file and line; validate says the same.
func TestTenMalformedThresholds(t *testing.T) {
	bad := []string{
		`  http_req_duraton: ["p(95)<200"]`,
		`  http_req_duration: ["p95<200"]`,
		`  http_req_waiting: ["p(95)<"]`,
		`  http_req_receiving: ["p(95)<200h"]`,
		`  "http_req_duration{endpoint:nope}": ["max<1s"]`,
		`  "http_req_duration{name:fast}": ["max<1s"]`,
		`  http_req_failed: ["rate<1%"]`,
		`  http_reqs: ["count>10s"]`,
		`  checks: ["rate>0.99 over 1500ms"]`,
		`  service_time: [{threshold: "p(99)>", abort_on_fail: true}]`,
	}
	plan := thresholdPlan(t, "http://127.0.0.1:9", "{vus: 1, duration: 1s}", strings.Join(bad, "\n")+"\n")
	data, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	first := strings.Count(strings.SplitAfter(string(data), "thresholds:\n")[0], "\n") + 1
	for _, cmd := range []string{"run", "validate"} {
		code, _, stderr := runLoadforge(t, cmd, plan)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2", cmd, code)
		}
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(lines) != len(bad) {
			t.Fatalf("%s: %d lines, want %d:\n%s", cmd, len(lines), len(bad), stderr)
		}
		for i, l := range lines {
			want := fmt.Sprintf("loadforge: %s:%d: thresholds.", plan, first+i)
			if !strings.HasPrefix(l, want) {
				t.Errorf("%s: line %q, want it to start with %q", cmd, l, want)
			}
		}
	}
	code, _, stderr := runLoadforge(t, "validate", "--url", "http://127.0.0.1:9/", "--vus", "1", "--duration", "1s", "--threshold", "http_req_duration:p(95)<<200")
	if code != 2 || !regexp.MustCompile(`^loadforge: --threshold "http_req_duration:p\(95\)<<200": .*not a number`).MatchString(stderr) {
		t.Errorf("bad --threshold: exit %d, %q", code, stderr)
	}
}

func TestValidateListsThresholds(t *testing.T) {
	plan := thresholdPlan(t, "http://127.0.0.1:9", "{vus: 1, duration: 1s}", `  http_req_duration{endpoint:slow}:
    - {threshold: "p(99)<300 over 30s for 10s", abort_on_fail: true, delay_abort_eval: 10s}
  http_req_failed: ["rate<0.01"]
`)
	code, stdout, stderr := runLoadforge(t, "validate", plan)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"thresholds", "http_req_duration{endpoint:slow}  p(99)<300 over 30s for 10s", "aborts the run (not before 10s)", "http_req_failed", "on the whole run"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("validate output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestTapSeesThresholdStatesLive: an outside program on the listening bus
// sees threshold states while the run goes on, before the result.
func TestTapSeesThresholdStatesLive(t *testing.T) {
	base := startTarget(t)
	addr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "r.json")
	// Slow for 2.5 s, then fast: the windowed threshold fails, then passes
	// again, a change of verdict while the run goes on.
	coord := startProc(t, "run", binary, "run", "--url", base+"/slowstart?ms=2500&delay=500", "--vus", "2", "--duration", "7s", "--think", "10ms",
		"--threshold", "http_req_duration:max<400 over 1s", "--threshold", "http_reqs:count>0",
		"--listen", addr, "--token", "s3cret", "--out", out, "--quiet")
	url := coord.waitLine(`bus listening on (\S+)`)[1]
	nc, err := nats.Connect(url, nats.Token("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	var order []string // "live", "final", "result"
	var states []schemas.ThresholdState
	// One subscription: the server delivers what one publisher sent in order.
	if _, err := nc.Subscribe("loadforge.>", func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(m.Subject, ".result"):
			order = append(order, "result")
		case strings.HasSuffix(m.Subject, ".threshold"):
			var s schemas.ThresholdState
			if err := schemas.Decode(m.Data, &s); err != nil {
				t.Errorf("threshold message: %v", err)
				return
			}
			states = append(states, s)
			if s.Final {
				order = append(order, "final")
			} else {
				order = append(order, "live")
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if code := coord.exit(60 * time.Second); code != 99 {
		t.Fatalf("exit %d, want 99:\n%s", code, coord)
	}
	mu.Lock()
	defer mu.Unlock()
	seq := strings.Join(order, " ")
	// The run had begun before we subscribed: the first states may be
	// missed, but not the recovery seconds later, nor the final ones.
	if !regexp.MustCompile(`^(live )+final final result$`).MatchString(seq) {
		t.Errorf("messages in order %q, want live states, the two final ones, then the result", seq)
	}
	recovered := false
	for _, s := range states {
		if !s.Final && s.Expression == "max<400 over 1s" && s.OK {
			recovered = true
		}
		if s.Final && s.Expression == "max<400 over 1s" && (s.OK || s.Value < 500) {
			t.Errorf("final state %+v, want failed by the slow start", s)
		}
	}
	if !recovered {
		t.Errorf("no live state saw the window recover: %+v", states)
	}
}

// TestRemoteWorkersJudgeAsOne: the verdicts of a run over two remote worker
// processes are those of the same run on one local worker.
func TestRemoteWorkersJudgeAsOne(t *testing.T) {
	base := startTarget(t)
	args := []string{"--url", base + "/delay?ms=20", "--vus", "4", "--duration", "3s",
		"--threshold", "http_req_duration:p(50)>=20",
		"--threshold", "http_req_duration:max<20",
		"--threshold", "http_req_failed:rate==0",
		"--threshold", "http_reqs:count<10",
		"--threshold", "http_req_duration:min>=20 over 1s",
	}
	code, local, _ := runThresholds(t, args...)
	if code != 99 {
		t.Errorf("local: exit %d, want 99", code)
	}

	addr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "r.json")
	coord := startProc(t, "coordinator", binary, append(append([]string{"run"}, args...),
		"--listen", addr, "--token", "wrk", "--workers", "2", "--workers-timeout", "40s", "--out", out, "--quiet")...)
	url := coord.waitLine(`bus listening on (\S+)`)[1]
	startWorkerProc(t, "w1", "--nats", url, "--token", "wrk")
	startWorkerProc(t, "w2", "--nats", url, "--token", "wrk")
	if code := coord.exit(60 * time.Second); code != 99 {
		t.Fatalf("coordinator exit %d, want 99:\n%s", code, coord)
	}
	remote, _ := readResult(t, out)
	if len(remote.Workers) != 2 || remote.Workers[0].Requests == 0 || remote.Workers[1].Requests == 0 {
		t.Fatalf("workers %+v: want both carrying load", remote.Workers)
	}
	if len(remote.Thresholds) != len(local.Thresholds) {
		t.Fatalf("remote %+v, local %+v", remote.Thresholds, local.Thresholds)
	}
	want := []bool{true, false, true, false, true}
	for i := range local.Thresholds {
		l, r := local.Thresholds[i], remote.Thresholds[i]
		if l.OK != want[i] || r.OK != l.OK || r.Expression != l.Expression {
			t.Errorf("%s %s: local ok=%v (%g), remote ok=%v (%g), want %v", l.Metric, l.Expression, l.OK, l.Value, r.OK, r.Value, want[i])
		}
	}
}
