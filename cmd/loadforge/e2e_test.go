package main_test

// End-to-end tests: the built binary against real servers (the built-in target,
// and nginx with an access log where nginx is installed).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/loadforge/loadforge/schemas"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loadforge-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "loadforge")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build loadforge:", err)
		os.Exit(1)
	}
	natsServer = buildNatsServer(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lineWatcher copies a process's output into a buffer and signals the first
// line that matches a pattern.
type lineWatcher struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (lw *lineWatcher) String() string {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.buf.String()
}

// watch reads r line by line; the returned channel yields the submatches of the
// first line matching re, then closes when r ends.
func (lw *lineWatcher) watch(r io.Reader, re *regexp.Regexp) <-chan []string {
	found := make(chan []string, 1)
	go func() {
		defer close(found)
		sc := bufio.NewScanner(r)
		matched := false
		for sc.Scan() {
			line := sc.Text()
			lw.mu.Lock()
			lw.buf.WriteString(line + "\n")
			lw.mu.Unlock()
			if !matched {
				if m := re.FindStringSubmatch(line); m != nil {
					matched = true
					found <- m
				}
			}
		}
	}()
	return found
}

func waitFor[T any](t *testing.T, ch <-chan T, what string, out fmt.Stringer) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%s: output ended first:\n%s", what, out)
		}
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: not within 20 s:\n%s", what, out)
	}
	panic("unreachable")
}

// startTarget runs `loadforge target` on a free port and returns its base URL.
func startTarget(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(binary, "target", "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	var lw lineWatcher
	m := waitFor(t, lw.watch(stdout, regexp.MustCompile(`(http://127\.0\.0\.1:\d+)`)), "target listening", &lw)
	return m[1]
}

func targetCount(t *testing.T, base string) uint64 {
	t.Helper()
	resp, err := http.Get(base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Requests uint64 `json:"requests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Requests
}

func readResult(t *testing.T, path string) (*schemas.Result, map[string]any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("result document: %v", err)
	}
	var r schemas.Result
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	return &r, raw
}

func runLoadforge(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), o.String(), e.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, o.String(), e.String()
}

func checkLatency(t *testing.T, where string, l schemas.LatencyMs) {
	t.Helper()
	seq := []float64{l.Min, l.P50, l.P90, l.P95, l.P99, l.P999, l.Max}
	for i := 1; i < len(seq); i++ {
		if seq[i] < seq[i-1] {
			t.Errorf("%s latency not ordered min ≤ p50 ≤ … ≤ max: %+v", where, l)
			return
		}
	}
	if l.Min <= 0 || l.Mean < l.Min || l.Mean > l.Max {
		t.Errorf("%s latency implausible: %+v", where, l)
	}
}

func TestRunResultDocumentFieldByField(t *testing.T) {
	base := startTarget(t)
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runLoadforge(t, "run", "--url", base+"/", "--vus", "5", "--duration", "2s", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	r, raw := readResult(t, out)
	for _, k := range []string{"schema_version", "run_id", "name", "state", "started_at", "ended_at", "duration_s", "totals", "endpoints", "timeline", "workers"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("result lacks %q", k)
		}
	}
	if r.SchemaVersion != 1 || r.State != "completed" || r.RunID == "" {
		t.Errorf("schema_version %d, state %q, run_id %q", r.SchemaVersion, r.State, r.RunID)
	}
	start, err1 := time.Parse(time.RFC3339, r.StartedAt)
	end, err2 := time.Parse(time.RFC3339, r.EndedAt)
	if err1 != nil || err2 != nil || end.Before(start) {
		t.Errorf("started_at %q, ended_at %q", r.StartedAt, r.EndedAt)
	}
	if r.DurationS < 1.9 || r.DurationS > 5 {
		t.Errorf("duration_s %.2f for a 2 s run", r.DurationS)
	}
	served := targetCount(t, base)
	tot := r.Totals
	if tot.Requests == 0 || tot.Requests != served {
		t.Errorf("totals.requests %d, the target served %d", tot.Requests, served)
	}
	if tot.Errors != 0 || tot.StatusCodes["200"] != tot.Requests {
		t.Errorf("errors %d, status codes %v", tot.Errors, tot.StatusCodes)
	}
	if want := float64(tot.Requests) / r.DurationS; tot.RPS < want*0.95 || tot.RPS > want*1.05 {
		t.Errorf("rps %.1f, requests/duration %.1f", tot.RPS, want)
	}
	if tot.BytesIn == 0 {
		t.Error("bytes_in is 0")
	}
	checkLatency(t, "totals", tot.LatencyMs)
	if len(r.Endpoints) != 1 || r.Endpoints[0].Requests != tot.Requests || r.Endpoints[0].Method != "GET" || r.Endpoints[0].URL != base+"/" {
		t.Errorf("endpoints %+v", r.Endpoints)
	}
	var sum uint64
	for i, row := range r.Timeline {
		sum += row.Requests
		if row.TS != float64(i+1) {
			t.Errorf("timeline[%d].t_s = %v", i, row.TS)
		}
	}
	if sum != tot.Requests {
		t.Errorf("timeline sums to %d, totals %d", sum, tot.Requests)
	}
	if n := len(r.Timeline); n < 2 || n > 3 {
		t.Errorf("%d timeline rows for a 2 s run", n)
	} else if r.Timeline[0].VUs != 5 {
		t.Errorf("timeline[0].vus = %d, want 5", r.Timeline[0].VUs)
	}
	if len(r.Workers) != 1 || r.Workers[0].Requests != tot.Requests || r.Workers[0].Lost {
		t.Errorf("workers %+v", r.Workers)
	}
	if !strings.Contains(stdout, "GET") || !strings.Contains(stdout, "p99") {
		t.Errorf("summary on stdout lacks the endpoint table:\n%s", stdout)
	}
}

func TestStagesGiveTheTimelineVUs(t *testing.T) {
	base := startTarget(t)
	out := filepath.Join(t.TempDir(), "r.json")
	code, _, stderr := runLoadforge(t, "run", "--url", base+"/", "--stage", "4s:20", "--stage", "2s:20",
		"--think", "10ms", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r, _ := readResult(t, out)
	want := []int{5, 10, 15, 20, 20}
	if len(r.Timeline) < len(want) {
		t.Fatalf("%d timeline rows, want ≥ %d", len(r.Timeline), len(want))
	}
	// Never ahead of the pattern; behind it by at most a second's ramp (5
	// VUs: a busy machine starts VUs and reports them late), and on the
	// plateau by the end.
	prev := 0
	for i, w := range want {
		got := r.Timeline[i].VUs
		if got > w+1 || got < w-5 || got < prev {
			t.Errorf("second %d: %d VUs after %d, want %d (+1, -5) and never fewer", i+1, got, prev, w)
		}
		prev = got
	}
	if got := r.Timeline[len(want)-1].VUs; got < 19 {
		t.Errorf("second %d: %d VUs, want the plateau's 20", len(want), got)
	}
}

func TestUnreachableTargetCompletesWithErrorsByKind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out := filepath.Join(t.TempDir(), "r.json")
	code, _, stderr := runLoadforge(t, "run", "--url", "http://"+addr+"/", "--vus", "2", "--duration", "1s", "--think", "5ms", "--quiet", "--out", out)
	if code != 0 {
		t.Fatalf("an unreachable target is not a tool error: exit %d: %s", code, stderr)
	}
	r, _ := readResult(t, out)
	if r.Totals.Requests == 0 || r.Totals.Errors != r.Totals.Requests || r.Totals.ErrorsByKind["refused"] != r.Totals.Requests {
		t.Errorf("want every request an error of kind refused, got %d requests, %d errors, %v", r.Totals.Requests, r.Totals.Errors, r.Totals.ErrorsByKind)
	}
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	dir := t.TempDir()
	malformed := filepath.Join(dir, "bad.yaml")
	os.WriteFile(malformed, []byte("load: [1, 2\n  vus: x"), 0o644)
	negative := filepath.Join(dir, "neg.yaml")
	os.WriteFile(negative, []byte("base_url: http://127.0.0.1:1\nscenario:\n  tasks:\n    - request: {path: /}\nload:\n  vus: -3\n  duration: 5s\n"), 0o644)
	cases := []struct {
		name string
		args []string
		want string // the line must mention this
	}{
		{"negative vus", []string{"run", "--url", "http://127.0.0.1:1/", "--vus", "-1", "--duration", "1s"}, "vus"},
		{"bad url", []string{"run", "--url", "not a url", "--vus", "1", "--duration", "1s"}, "url"},
		{"malformed stage", []string{"run", "--url", "http://127.0.0.1:1/", "--stage", "30s"}, "stage"},
		{"stage bad target", []string{"run", "--url", "http://127.0.0.1:1/", "--stage", "30s:x"}, "stage"},
		{"bare duration", []string{"run", "--url", "http://127.0.0.1:1/", "--vus", "1", "--duration", "5"}, "duration"},
		{"bad duration", []string{"run", "--url", "http://127.0.0.1:1/", "--vus", "1", "--duration", "soon"}, "duration"},
		{"missing plan", []string{"run", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"malformed plan", []string{"run", malformed}, "bad.yaml"},
		{"negative vus in plan", []string{"run", negative}, "vus"},
		{"validate negative", []string{"validate", negative}, "vus"},
		{"unknown flag", []string{"run", "--vuz", "3"}, "vuz"},
		{"unknown command", []string{"runn"}, "runn"},
		{"listen without token beyond loopback", []string{"run", "--url", "http://127.0.0.1:1/", "--vus", "1", "--duration", "1s", "--listen", "0.0.0.0:0"}, "token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runLoadforge(t, tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if len(lines) != 1 || lines[0] == "" {
				t.Errorf("want one line on stderr, got %d:\n%s", len(lines), stderr)
			}
			if !strings.Contains(strings.ToLower(stderr), tc.want) {
				t.Errorf("error %q does not name %q", strings.TrimSpace(stderr), tc.want)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("stack trace on stderr: %s", stderr)
			}
		})
	}
}

// startRun starts `loadforge run` with args and waits until its live progress
// shows that requests flow; stderr is collected into the returned watcher.
func startRun(t *testing.T, args ...string) (*exec.Cmd, *lineWatcher) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"run"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lw := &lineWatcher{}
	waitFor(t, lw.watch(stderr, regexp.MustCompile(`req/s`)), "first progress line", lw)
	return cmd, lw
}

func exitCode(t *testing.T, cmd *exec.Cmd, lw fmt.Stringer) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("loadforge did not exit within 30 s:\n%s", lw)
	}
	return -1
}

func TestSIGINTWritesInterruptedResultWithNothingLost(t *testing.T) {
	base := startTarget(t)
	out := filepath.Join(t.TempDir(), "r.json")
	cmd, lw := startRun(t, "--url", base+"/delay?ms=30", "--vus", "10", "--duration", "1m", "--graceful-stop", "5s", "--out", out)
	began := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	if code := exitCode(t, cmd, lw); code != 130 {
		t.Fatalf("exit %d, want 130:\n%s", code, lw)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("took %s to stop with a 5 s graceful stop", d)
	}
	r, _ := readResult(t, out)
	if r.State != "interrupted" {
		t.Errorf("state %q, want interrupted", r.State)
	}
	if served := targetCount(t, base); r.Totals.Requests != served || served == 0 {
		t.Errorf("totals.requests %d, the target served %d", r.Totals.Requests, served)
	}
	if r.Totals.Errors != 0 {
		t.Errorf("%d errors (%v): in-flight requests should finish within the graceful stop", r.Totals.Errors, r.Totals.ErrorsByKind)
	}
}

// An outside program on the listening bus decodes every message as a msgpack
// map with a schema version, and the per-second snapshots add up to the result.
func TestOutsideSubscriberOnListeningBus(t *testing.T) {
	base := startTarget(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busAddr := ln.Addr().String()
	ln.Close()
	out := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command(binary, "run", "--url", base+"/", "--vus", "3", "--duration", "3s", "--think", "5ms",
		"--listen", busAddr, "--token", "s3cret", "--out", out, "--quiet")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lw lineWatcher
	m := waitFor(t, lw.watch(stderr, regexp.MustCompile(`bus listening on (\S+)`)), "bus listening", &lw)

	if nc, err := nats.Connect(m[1], nats.Token("wrong")); err == nil {
		nc.Close()
		t.Error("a client with a wrong token connected")
	}
	if nc, err := nats.Connect(m[1]); err == nil {
		nc.Close()
		t.Error("a client without a token connected")
	}
	nc, err := nats.Connect(m[1], nats.Token("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := make(chan *nats.Msg, 1<<16)
	sub, err := nc.ChanSubscribe("loadforge.>", msgs)
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()

	var snapRequests uint64
	var result map[string]any
	deadline := time.After(30 * time.Second)
	for result == nil {
		select {
		case msg := <-msgs:
			var body map[string]any
			if err := msgpack.Unmarshal(msg.Data, &body); err != nil {
				t.Fatalf("%s: not a msgpack map: %v", msg.Subject, err)
			}
			if _, ok := body["schema_version"]; !ok {
				t.Errorf("%s: no schema_version in %v", msg.Subject, body)
			}
			switch {
			case strings.HasSuffix(msg.Subject, ".snapshot"):
				if _, ok := body["seq"]; !ok {
					t.Errorf("snapshot without seq: %v", body)
				}
				snapRequests += toUint(body["requests"])
			case strings.HasSuffix(msg.Subject, ".result"):
				result = body
			}
		case <-deadline:
			t.Fatalf("no result on the bus within 30 s:\n%s", &lw)
		}
	}
	sub.Unsubscribe()
	if code := exitCode(t, cmd, &lw); code != 0 {
		t.Fatalf("exit %d:\n%s", code, &lw)
	}
	r, _ := readResult(t, out)
	if snapRequests != r.Totals.Requests || snapRequests == 0 {
		t.Errorf("snapshots on the bus add up to %d requests, the result says %d", snapRequests, r.Totals.Requests)
	}
	totals, _ := result["totals"].(map[string]any)
	if toUint(totals["requests"]) != r.Totals.Requests {
		t.Errorf("result on the bus says %v requests, --out says %d", totals["requests"], r.Totals.Requests)
	}
}

// toUint reads a msgpack integer, which arrives in the smallest width that holds it.
func toUint(v any) uint64 {
	rv := reflect.ValueOf(v)
	switch {
	case rv.CanUint():
		return rv.Uint()
	case rv.CanInt():
		return uint64(rv.Int())
	}
	return 0
}
