package main_test

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/loadforge/loadforge/schemas"
)

// runLimited runs the binary with its open-file limit lowered to nofile
// (soft and hard), as `(ulimit -n N; loadforge …)` does.
func runLimited(t *testing.T, nofile string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to lower the open-file limit with")
	}
	script := `ulimit -n "$1" && shift && exec "$@"`
	return runCommand(t, bash, append([]string{"-c", script, "bash", nofile, binary}, args...)...)
}

// runCommand runs name with args and returns its exit code and output.
func runCommand(t *testing.T, name string, args ...string) (int, string, string) {
	t.Helper()
	var o, e strings.Builder
	cmd := exec.Command(name, args...)
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

// A plan whose VUs cannot all get a connection under the open-file limit is
// refused before anything is sent, with the figures and what to raise.
func TestTooFewFileDescriptorsExitsTwoBeforeSending(t *testing.T) {
	base := startTarget(t)
	code, stdout, stderr := runLimited(t, "1024", "run", "--url", base+"/", "--vus", "3000", "--duration", "3s")
	if code != 2 {
		t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 {
		t.Errorf("want one line on stderr, got %q", stderr)
	}
	for _, part := range []string{"up to 3000 VUs", "3064 file descriptors", "open-file limit is 1024", "raise"} {
		if !strings.Contains(stderr, part) {
			t.Errorf("stderr %q lacks %q", stderr, part)
		}
	}
	if n := targetCount(t, base); n != 0 {
		t.Errorf("the target received %d requests, want none", n)
	}
	// With enough descriptors for the VUs the same limit runs.
	code, _, stderr = runLimited(t, "1024", "run", "--url", base+"/", "--vus", "10", "--duration", "300ms", "--quiet")
	if code != 0 {
		t.Errorf("10 VUs under 1024 descriptors: exit %d, stderr %s", code, stderr)
	}
}

// --out into a directory the run cannot write in fails before the run, naming the flag.
func TestOutUnwritableExitsTwoBeforeTheRun(t *testing.T) {
	base := startTarget(t)
	dir := "/proc/self"
	if os.Geteuid() != 0 {
		dir = filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(dir, 0o500); err != nil {
			t.Fatal(err)
		}
	} else if _, err := os.Stat(dir); err != nil {
		t.Skip("no directory root cannot write in")
	}
	code, stdout, stderr := runLoadforge(t, "run", "--url", base+"/", "--vus", "1", "--duration", "1s", "--out", filepath.Join(dir, "r.json"))
	if code != 2 || !strings.HasPrefix(stderr, "loadforge: --out ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want 2 and one line naming --out", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout %q: the run started", stdout)
	}
	if n := targetCount(t, base); n != 0 {
		t.Errorf("the target received %d requests, want none", n)
	}
}

// loggedStatus counts the requests nginx logged with status code.
func (n *nginxServer) loggedStatus(t *testing.T, code string) uint64 {
	t.Helper()
	data, err := os.ReadFile(n.accessLog)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(strings.Count(string(data), "\" "+code+" "))
}

// nginx drops every connection's second request without an answer (444):
// the drops show as errors, nothing is resent unseen, and the result counts
// what nginx logged.
func TestNginxDropsAreCountedNotHidden(t *testing.T) {
	for _, client := range []string{"auto", "net/http"} {
		t.Run(client, func(t *testing.T) {
			ngx := startNginxWith(t, nginxOptions{server: `location = /drop2 { if ($connection_requests = 2) { return 444; } return 200 "ok"; }`})
			out := filepath.Join(t.TempDir(), "r.json")
			code, _, stderr := runLoadforge(t, "run", "--url", ngx.URL+"/drop2", "--vus", "4", "--duration", "2s",
				"--http-client", client, "--quiet", "--out", out)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			r, _ := readResult(t, out)
			logged, dropped := ngx.logged(t), ngx.loggedStatus(t, "444")
			if r.Totals.Requests != logged || dropped == 0 {
				t.Errorf("result counts %d requests, nginx logged %d (%d dropped)", r.Totals.Requests, logged, dropped)
			}
			if r.Totals.Errors != dropped || r.Totals.ErrorsByKind["reset"] != dropped {
				t.Errorf("errors %d %v, nginx dropped %d", r.Totals.Errors, r.Totals.ErrorsByKind, dropped)
			}
			if r.Totals.Retries > dropped || client == "auto" && r.Totals.Retries != 0 {
				t.Errorf("%d retries for %d drops", r.Totals.Retries, dropped)
			}
		})
	}
}

// nginx closes kept-alive connections idle past keepalive_timeout; a POST
// after a longer think time must not be lost on a closed connection.
func TestNginxIdleCloseLosesNoPOST(t *testing.T) {
	for _, client := range []string{"auto", "net/http"} {
		t.Run(client, func(t *testing.T) {
			ngx := startNginxWith(t, nginxOptions{server: `keepalive_timeout 200ms;`})
			out := filepath.Join(t.TempDir(), "r.json")
			code, _, stderr := runLoadforge(t, "run", "--url", ngx.URL+"/", "--method", "POST", "--body", "hello",
				"--vus", "2", "--duration", "2s", "--think", "300ms", "--http-client", client, "--quiet", "--out", out)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			r, _ := readResult(t, out)
			logged := ngx.logged(t)
			// A close racing the write is nginx dropping a request, counted as
			// an error; writing on closed connections would fail every second one.
			if r.Totals.Requests != logged+r.Totals.Errors || r.Totals.Errors*4 > r.Totals.Requests || logged == 0 {
				t.Errorf("result counts %d requests (%d errors %v), nginx logged %d", r.Totals.Requests, r.Totals.Errors, r.Totals.ErrorsByKind, logged)
			}
		})
	}
}

// Forged metric events published with the workers' credential: four empty
// ones under the real worker's next seqs, and one from an unknown worker id
// claiming a million requests. The totals stay what the target received, the
// run ends on time, and the result warns of both.
func TestForgedEventsDoNotChangeTheTotals(t *testing.T) {
	base := startTarget(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busAddr := ln.Addr().String()
	ln.Close()
	out := filepath.Join(t.TempDir(), "r.json")
	began := time.Now()
	cmd := exec.Command(binary, "run", "--url", base+"/", "--vus", "2", "--duration", "3s", "--think", "5ms",
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
	nc, err := nats.Connect(m[1], nats.Token("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	events := make(chan *nats.Msg, 64)
	sub, err := nc.ChanSubscribe("loadforge.*.metrics.*", events)
	if err != nil {
		t.Fatal(err)
	}
	var real schemas.MetricEvent
	select {
	case msg := <-events:
		if err := schemas.Decode(msg.Data, &real); err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no metric event:\n%s", &lw)
	}
	sub.Unsubscribe()
	publish := func(ev *schemas.MetricEvent) {
		data, err := schemas.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.Publish(schemas.MetricsSubject(ev.RunID, ev.WorkerID), data); err != nil {
			t.Fatal(err)
		}
	}
	for seq := real.Seq + 2; seq <= real.Seq+5; seq++ {
		publish(&schemas.MetricEvent{SchemaVersion: 1, RunID: real.RunID, WorkerID: real.WorkerID, Seq: seq,
			StartNs: real.StartNs, EndNs: real.EndNs, Endpoints: []schemas.EndpointMetrics{}})
	}
	publish(&schemas.MetricEvent{SchemaVersion: 1, RunID: real.RunID, WorkerID: "intruder", Seq: 1,
		StartNs: real.StartNs, EndNs: real.EndNs, Endpoints: []schemas.EndpointMetrics{{Name: "x", Method: "GET",
			URL: base + "/", Requests: 1_000_000, StatusCodes: map[string]uint64{"200": 1_000_000}}}})
	nc.Flush()
	if code := exitCode(t, cmd, &lw); code != 0 {
		t.Fatalf("exit %d:\n%s", code, &lw)
	}
	if d := time.Since(began); d > 20*time.Second {
		t.Errorf("a 3 s run took %s", d)
	}
	r, _ := readResult(t, out)
	if got := targetCount(t, base); r.Totals.Requests != got || got == 0 {
		t.Errorf("result counts %d requests, the target received %d", r.Totals.Requests, got)
	}
	var conflicts, intruder bool
	for _, w := range r.Warnings {
		conflicts = conflicts || strings.Contains(w, "worker "+real.WorkerID+": 4 metric events conflicted")
		intruder = intruder || strings.Contains(w, "never admitted: intruder")
	}
	if !conflicts || !intruder {
		t.Errorf("warnings %q: want the 4 conflicts and the intruder", r.Warnings)
	}
}

// A control command with a key the run does not know gets an error reply and
// changes nothing: the run keeps its VUs.
func TestControlCommandWithUnknownKeyChangesNothing(t *testing.T) {
	base := startTarget(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busAddr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	plan := filepath.Join(dir, "ext.yaml")
	if err := os.WriteFile(plan, []byte("base_url: "+base+"\nscenario:\n  tasks:\n    - request: {path: /}\nload:\n  external: {vus: 3, max_vus: 10, duration: 3s}\nthink: 10ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.json")
	cmd := exec.Command(binary, "run", plan, "--listen", busAddr, "--token", "w0rker", "--control-token", "c0ntrol", "--out", out)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lw lineWatcher
	m := waitFor(t, lw.watch(stderr, regexp.MustCompile(`control commands on (loadforge\.\S+\.control) \(may publish: clients presenting --control-token`)), "control note", &lw)
	nc, err := nats.Connect("nats://"+busAddr, nats.Token("c0ntrol"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	reply, err := nc.Request(m[1], []byte(`{"schema_version":1,"vus":7}`), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(reply.Data), `"ok":false`) || !strings.Contains(string(reply.Data), `unknown field`) {
		t.Errorf("reply %s, want an error naming the unknown field", reply.Data)
	}
	if code := exitCode(t, cmd, &lw); code != 0 {
		t.Fatalf("exit %d:\n%s", code, &lw)
	}
	r, _ := readResult(t, out)
	for _, row := range r.Timeline[:len(r.Timeline)-1] {
		if row.VUs != 3 {
			t.Errorf("second %.0f ran %d VUs, want the initial 3 throughout", row.TS, row.VUs)
		}
	}
	if got := targetCount(t, base); r.Totals.Requests != got || got == 0 {
		t.Errorf("result counts %d requests, the target received %d", r.Totals.Requests, got)
	}
	if !strings.Contains(lw.String(), "WARNING no control command yet") {
		t.Errorf("the live line never warned that no command came:\n%s", &lw)
	}
}
