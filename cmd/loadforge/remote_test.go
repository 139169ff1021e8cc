package main_test

// Multi-process tests of remote workers: a coordinator (loadforge run
// --workers N), loadforge worker processes, nginx as the target, and where
// needed a standalone nats-server built from its Go module.

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

// natsServer is the nats-server binary TestMain built, "" if it could not.
var natsServer string

// buildNatsServer builds nats-server at the version go.mod pins (the same
// module the embedded bus uses, so no download is needed) into dir.
func buildNatsServer(dir string) string {
	bin := filepath.Join(dir, "nats-server")
	build := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build nats-server (its tests will be skipped):", err)
		return ""
	}
	return bin
}

// proc is a child process whose output is kept line by line.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu     sync.Mutex
	lines  []string
	notify chan struct{}
}

func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: exec.Command(bin, args...), done: make(chan struct{}), notify: make(chan struct{}, 1)}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// done closes once the process has exited and its last line is read: a
	// process's output can still be in the pipe when Wait returns.
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.notify <- struct{}{}:
			default:
			}
		}
		r.Close()
	}()
	go func() {
		p.err = p.cmd.Wait()
		<-read
		close(p.done)
		select {
		case p.notify <- struct{}{}:
		default:
		}
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.name + ":\n  " + strings.Join(p.lines, "\n  ")
}

// waitLine waits for an output line matching re and returns its submatches.
func (p *proc) waitLine(re string) []string {
	p.t.Helper()
	return p.waitLines(re, 1)[0]
}

// waitLines waits for n output lines matching re and returns their submatches.
func (p *proc) waitLines(re string, n int) [][]string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.After(40 * time.Second)
	var found [][]string
	for seen := 0; ; {
		p.mu.Lock()
		lines := p.lines[seen:]
		seen = len(p.lines)
		p.mu.Unlock()
		for _, l := range lines {
			if m := rx.FindStringSubmatch(l); m != nil {
				if found = append(found, m); len(found) == n {
					return found
				}
			}
		}
		select {
		case <-p.notify:
		case <-p.done:
			// Take the last lines, then give up.
			select {
			case <-p.notify:
				continue
			case <-time.After(100 * time.Millisecond):
			}
			p.mu.Lock()
			more := len(p.lines) > seen
			p.mu.Unlock()
			if !more {
				p.t.Fatalf("no line matching %q before exit:\n%s", re, p)
			}
		case <-deadline:
			p.t.Fatalf("no line matching %q within 40 s:\n%s", re, p)
		}
	}
}

// exit waits for the process to end and returns its exit code.
func (p *proc) exit(within time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		p.cmd.Process.Kill()
		p.t.Fatalf("%s did not exit within %s:\n%s", p.name, within, p)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(t *testing.T, addr string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s:\n%s", addr, p)
		}
		time.Sleep(20 * time.Millisecond) // polling a port: there is no other signal
	}
}

// startWorkerProc starts `loadforge worker` and waits until it waits for runs.
func startWorkerProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	w := startProc(t, "worker "+name, binary, append([]string{"worker", "--name", name}, args...)...)
	return w
}

// observer is an outside program on the bus: it records every worker's VUs
// over time, the assignments and the snapshots.
type observer struct {
	mu       sync.Mutex
	vus      map[string][]vuAt // worker name or id -> its metric events' VUs
	lost     map[string]time.Time
	snapReqs uint64
	results  int
	notify   chan struct{}
}

type vuAt struct {
	at  time.Time
	vus int
}

func observe(t *testing.T, url string, opts ...nats.Option) *observer {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("observer: %v", err)
	}
	t.Cleanup(nc.Close)
	o := &observer{vus: map[string][]vuAt{}, lost: map[string]time.Time{}, notify: make(chan struct{}, 1)}
	_, err = nc.Subscribe("loadforge.>", func(m *nats.Msg) {
		now := time.Now()
		o.mu.Lock()
		switch {
		case strings.Contains(m.Subject, ".metrics."):
			var ev schemas.MetricEvent
			if schemas.Decode(m.Data, &ev) == nil {
				o.vus[ev.WorkerID] = append(o.vus[ev.WorkerID], vuAt{now, ev.VUs})
			}
		case strings.HasSuffix(m.Subject, ".assign"):
			var a schemas.WorkerAssignment
			if schemas.Decode(m.Data, &a) == nil {
				for _, id := range a.Lost {
					if _, ok := o.lost[id]; !ok {
						o.lost[id] = now
					}
				}
			}
		case strings.HasSuffix(m.Subject, ".snapshot"):
			var s map[string]any
			if msgpack.Unmarshal(m.Data, &s) == nil {
				o.snapReqs += toUint(s["requests"])
			}
		case strings.HasSuffix(m.Subject, ".result"):
			o.results++
		}
		o.mu.Unlock()
		select {
		case o.notify <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("observer: %v", err)
	}
	return o
}

func (o *observer) waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(40 * time.Second)
	for {
		o.mu.Lock()
		ok := cond()
		o.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-o.notify:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// lastVUs is a worker's latest reported VU count (-1 before any).
func (o *observer) lastVUs(id string) int {
	v := o.vus[id]
	if len(v) == 0 {
		return -1
	}
	return v[len(v)-1].vus
}

func workersByName(r *schemas.Result) map[string]schemas.WorkerResult {
	m := map[string]schemas.WorkerResult{}
	for _, w := range r.Workers {
		m[w.Name] = w
	}
	return m
}

func checkHalves(t *testing.T, r *schemas.Result, names ...string) {
	t.Helper()
	by := workersByName(r)
	if len(r.Workers) != len(names) {
		t.Errorf("result lists %d workers, want %d: %+v", len(r.Workers), len(names), r.Workers)
	}
	for _, n := range names {
		w, ok := by[n]
		share := float64(w.Requests) / float64(max(r.Totals.Requests, 1))
		t.Logf("worker %s carried %d of %d requests (%.1f%%)", n, w.Requests, r.Totals.Requests, 100*share)
		if !ok || w.Lost || share < 0.35 || share > 0.65 {
			t.Errorf("worker %s: %+v carried %.0f%% of %d requests, want about half", n, w, 100*share, r.Totals.Requests)
		}
	}
}

func TestCoordinatorWithTwoWorkerProcesses(t *testing.T) {
	ngx := startNginx(t)
	addr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "r.json")
	coord := startProc(t, "coordinator", binary, "run", "--url", ngx.URL+"/", "--vus", "10", "--duration", "3s",
		"--think", "5ms", // paced VUs: each worker's count follows its VUs, not its share of a busy CPU
		"--listen", addr, "--token", "wrk-s3cret", "--workers", "2", "--workers-timeout", "40s", "--out", out, "--quiet")
	url := coord.waitLine(`bus listening on (\S+)`)[1]
	startWorkerProc(t, "w1", "--nats", url, "--token", "wrk-s3cret")
	startWorkerProc(t, "w2", "--nats", url, "--token", "wrk-s3cret")
	if code := coord.exit(60 * time.Second); code != 0 {
		t.Fatalf("coordinator exit %d:\n%s", code, coord)
	}
	r, _ := readResult(t, out)
	checkHalves(t, r, "w1", "w2")
	if got := ngx.logged(t); r.Totals.Requests != got || got == 0 {
		t.Errorf("result counts %d requests, nginx logged %d", r.Totals.Requests, got)
	}
	if r.Timeline[0].VUs != 10 {
		t.Errorf("first second: %d VUs over both workers, want 10", r.Timeline[0].VUs)
	}
}

// natsConfig writes a nats-server configuration with a coordinator user (all
// rights), a worker user and a tap user with loadforge's permission sets.
func natsConfig(t *testing.T, addr string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	quote := func(ss []string) string { return `["` + strings.Join(ss, `", "`) + `"]` }
	conf := fmt.Sprintf(`host: %s
port: %s
authorization {
  users = [
    {user: coordinator, password: coord-pw}
    {user: worker, password: worker-pw, permissions: {publish: {allow: %s}, subscribe: {allow: %s}}}
    {user: tap, password: tap-pw, permissions: {publish: {deny: [">"]}, subscribe: {allow: %s}}}
  ]
}
`, host, port, quote(bus.WorkerPublishes), quote(bus.ReadSubjects), quote(bus.ReadSubjects))
	p := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startNatsServer starts a standalone nats-server with natsConfig.
func startNatsServer(t *testing.T) string {
	t.Helper()
	if natsServer == "" {
		if os.Getenv("LOADFORGE_REQUIRE_NATS_SERVER") != "" {
			t.Fatal("nats-server could not be built (LOADFORGE_REQUIRE_NATS_SERVER)")
		}
		t.Skip("nats-server could not be built")
	}
	addr := freeAddr(t)
	srv := startProc(t, "nats-server", natsServer, "-c", natsConfig(t, addr))
	waitListening(t, addr, srv)
	return "nats://" + addr
}

func TestStandaloneNatsServerWithAnOutsideSubscriber(t *testing.T) {
	url := startNatsServer(t)
	ngx := startNginx(t)
	watcher := observe(t, url, nats.UserInfo("tap", "tap-pw"))
	out := filepath.Join(t.TempDir(), "r.json")
	coord := startProc(t, "coordinator", binary, "run", "--url", ngx.URL+"/", "--vus", "6", "--duration", "3s", "--think", "5ms",
		"--nats", url, "--user", "coordinator", "--password", "coord-pw", "--workers", "2", "--workers-timeout", "40s",
		"--out", out, "--quiet")
	for _, n := range []string{"w1", "w2"} {
		startWorkerProc(t, n, "--nats", url, "--user", "worker", "--password", "worker-pw")
	}
	if code := coord.exit(60 * time.Second); code != 0 {
		t.Fatalf("coordinator exit %d:\n%s", code, coord)
	}
	r, _ := readResult(t, out)
	checkHalves(t, r, "w1", "w2")
	if got := ngx.logged(t); r.Totals.Requests != got || got == 0 {
		t.Errorf("result counts %d requests, nginx logged %d", r.Totals.Requests, got)
	}
	watcher.waitUntil(t, "the result on the bus", func() bool { return watcher.results == 1 })
	watcher.mu.Lock()
	defer watcher.mu.Unlock()
	if watcher.snapReqs != r.Totals.Requests {
		t.Errorf("the outside subscriber's snapshots add up to %d requests, the result says %d", watcher.snapReqs, r.Totals.Requests)
	}

	// The server's worker user is no more able to steer a run than ours.
	errs := make(chan error, 4)
	nc, err := nats.Connect(url, nats.UserInfo("worker", "worker-pw"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Publish(schemas.Subject(r.RunID, schemas.KindScale), []byte{0x80})
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("worker publishing a scale command: %v, want a permission violation", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("a worker credential published a scale command without a permission violation")
	}
}

func TestSIGKILLedWorkersShareMovesToTheSurvivor(t *testing.T) {
	ngx := startNginx(t)
	addr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "r.json")
	const vus = 10
	coord := startProc(t, "coordinator", binary, "run", "--url", ngx.URL+"/", "--vus", fmt.Sprint(vus), "--duration", "9s",
		"--listen", addr, "--token", "wrk", "--tap-token", "tap", "--workers", "2", "--workers-timeout", "40s",
		"--graceful-stop", "5s", "--out", out, "--quiet")
	url := coord.waitLine(`bus listening on (\S+)`)[1]
	watcher := observe(t, url, nats.Token("tap"))
	victim := startWorkerProc(t, "victim", "--nats", url, "--token", "wrk")
	startWorkerProc(t, "survivor", "--nats", url, "--token", "wrk")
	// Worker ids are random: learn them from the coordinator's notes.
	ids := map[string]string{}
	for _, m := range coord.waitLines(`worker (\S+) \((victim|survivor) on \S+\) joined`, 2) {
		ids[m[2]] = m[1]
	}
	vid, sid := ids["victim"], ids["survivor"]
	watcher.waitUntil(t, "both workers at half the VUs", func() bool {
		return watcher.lastVUs(vid) == vus/2 && watcher.lastVUs(sid) == vus/2
	})
	killed := time.Now()
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	watcher.waitUntil(t, "the survivor carrying every VU", func() bool { return watcher.lastVUs(sid) == vus })
	watcher.mu.Lock()
	var full time.Time
	for _, v := range watcher.vus[sid] {
		if v.vus == vus {
			full = v.at
			break
		}
	}
	lostAt, marked := watcher.lost[vid]
	watcher.mu.Unlock()
	if !marked {
		t.Error("the victim was never marked lost on the bus")
	}
	// Three missed heartbeats after the kill, then at once; the metric event
	// that shows it comes at most one interval later.
	took := full.Sub(killed)
	t.Logf("SIGKILL → marked lost %s → survivor at %d VUs %s", lostAt.Sub(killed).Round(time.Millisecond), vus, took.Round(time.Millisecond))
	// Bounded loosely: a busy machine delays every step; the order is what
	// the code decides.
	if took > 15*time.Second || full.Sub(lostAt) > 5*time.Second {
		t.Errorf("the survivor carried all VUs %s after the kill (%s after the loss was marked)", took, full.Sub(lostAt))
	}

	if code := coord.exit(60 * time.Second); code != 0 {
		t.Fatalf("coordinator exit %d:\n%s", code, coord)
	}
	r, _ := readResult(t, out)
	by := map[string]schemas.WorkerResult{}
	for _, w := range r.Workers {
		by[w.ID] = w
	}
	if w := by[vid]; !w.Lost || w.Requests == 0 {
		t.Errorf("victim %+v: want lost, with what it reported before", w)
	}
	if w := by[sid]; w.Lost {
		t.Errorf("survivor %+v marked lost", w)
	}
	logged := ngx.logged(t)
	t.Logf("reported %d of %d logged (%.2f%%)", r.Totals.Requests, logged, 100*float64(r.Totals.Requests)/float64(logged))
	if r.Totals.Requests > logged || float64(r.Totals.Requests) < 0.9*float64(logged) {
		t.Errorf("result counts %d requests, nginx logged %d: want ≤ logged and ≥ 90%% of it", r.Totals.Requests, logged)
	}
	// A second's snapshot may go out before a busy survivor's event for it
	// (its grace is one second), so look for all VUs in any second after
	// the loss rather than in one given second.
	carried := false
	for _, row := range r.Timeline {
		carried = carried || (row.VUs == vus && time.Duration(row.TS*float64(time.Second)) > lostAt.Sub(killed))
	}
	if !carried {
		t.Errorf("no second after the loss shows all %d VUs on the survivor: %+v", vus, r.Timeline)
	}
}

func TestBusCredentialsAndPermissions(t *testing.T) {
	addr := freeAddr(t)
	// A coordinator waiting for a worker that never comes keeps its bus up.
	coord := startProc(t, "coordinator", binary, "run", "--url", "http://127.0.0.1:1/", "--vus", "1", "--duration", "1s",
		"--listen", addr, "--token", "wrk", "--tap-token", "tap", "--control-token", "ctl", "--workers", "1", "--workers-timeout", "1m")
	url := coord.waitLine(`bus listening on (\S+)`)[1]
	run := coord.waitLine(`\(run (\w+)\)`)[1]

	for name, opts := range map[string][]nats.Option{"no token": nil, "wrong token": {nats.Token("nope")}} {
		if nc, err := nats.Connect(url, opts...); err == nil {
			nc.Close()
			t.Errorf("%s: connected", name)
		} else if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: %v, want an authorization error", name, err)
		}
	}
	code, _, stderr := runLoadforge(t, "worker", "--nats", url, "--token", "nope")
	if code != 1 || !strings.Contains(strings.ToLower(stderr), "authorization violation") {
		t.Errorf("worker with a wrong token: exit %d, stderr %q", code, stderr)
	}

	// Each credential publishes what its role may, and nothing else.
	publishes := func(token, subject string) error {
		errs := make(chan error, 4)
		nc, err := nats.Connect(url, nats.Token(token),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err }))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.Publish(subject, []byte("{}"))
		// The server answers a violation before the PONG of the flush.
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			return err
		case <-time.After(500 * time.Millisecond):
			return nil
		}
	}
	scale, control, metrics := schemas.Subject(run, schemas.KindScale), schemas.Subject(run, schemas.KindControl), schemas.MetricsSubject(run, "w")
	cases := []struct {
		token, subject string
		allowed        bool
	}{
		{"wrk", scale, false}, {"wrk", control, false}, {"wrk", schemas.Subject(run, schemas.KindState), false}, {"wrk", metrics, true},
		{"tap", metrics, false}, {"tap", control, false},
		{"ctl", control, true}, {"ctl", scale, false},
	}
	for _, c := range cases {
		err := publishes(c.token, c.subject)
		if c.allowed && err != nil || !c.allowed && !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("%s publishing on %s: %v (allowed: %v)", c.token, c.subject, err, c.allowed)
		}
	}
	coord.cmd.Process.Signal(syscall.SIGINT)
	if code := coord.exit(30 * time.Second); code != 130 {
		t.Errorf("coordinator interrupted while waiting: exit %d, want 130:\n%s", code, coord)
	}
	if !strings.Contains(coord.String(), "0 of 1 came") {
		t.Errorf("the coordinator does not say how many workers came:\n%s", coord)
	}
}

func TestTwoRunsOnOneServerDoNotMix(t *testing.T) {
	url := startNatsServer(t)
	ngxA, ngxB := startNginx(t), startNginx(t)
	dir := t.TempDir()
	outA, outB := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	common := []string{"--duration", "3s", "--nats", url, "--user", "coordinator", "--password", "coord-pw", "--quiet"}
	a := startProc(t, "run a", binary, append([]string{"run", "--url", ngxA.URL + "/", "--vus", "3", "--out", outA}, common...)...)
	b := startProc(t, "run b", binary, append([]string{"run", "--url", ngxB.URL + "/", "--vus", "5", "--out", outB}, common...)...)
	for _, p := range []*proc{a, b} {
		if code := p.exit(60 * time.Second); code != 0 {
			t.Fatalf("%s: exit %d", p, code)
		}
	}
	ra, _ := readResult(t, outA)
	rb, _ := readResult(t, outB)
	if ra.RunID == rb.RunID {
		t.Fatalf("both runs have id %s", ra.RunID)
	}
	for _, c := range []struct {
		r   *schemas.Result
		ngx *nginxServer
		vus int
	}{{ra, ngxA, 3}, {rb, ngxB, 5}} {
		if got := c.ngx.logged(t); c.r.Totals.Requests != got || got == 0 {
			t.Errorf("run %s counts %d requests, its nginx logged %d", c.r.RunID, c.r.Totals.Requests, got)
		}
		if len(c.r.Workers) != 1 || c.r.MalformedMessages != 0 || c.r.Timeline[0].VUs != c.vus {
			t.Errorf("run %s: workers %+v, malformed %d, first second %d VUs (want its own %d)",
				c.r.RunID, c.r.Workers, c.r.MalformedMessages, c.r.Timeline[0].VUs, c.vus)
		}
	}
}

func TestWorkerOutlivesItsCoordinator(t *testing.T) {
	ngx := startNginx(t)
	addr := freeAddr(t)
	url := "nats://" + addr
	// The worker starts first and waits for the bus to come up.
	w := startWorkerProc(t, "steady", "--nats", url, "--token", "wrk")
	w.waitLine(`waiting for the bus`)
	first := startProc(t, "first coordinator", binary, "run", "--url", ngx.URL+"/", "--vus", "2", "--duration", "1m",
		"--listen", addr, "--token", "wrk", "--workers", "1", "--workers-timeout", "40s")
	first.waitLine(`req/s`)
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.exit(10 * time.Second)

	out := filepath.Join(t.TempDir(), "r.json")
	second := startProc(t, "second coordinator", binary, "run", "--url", ngx.URL+"/", "--vus", "2", "--duration", "2s",
		"--listen", addr, "--token", "wrk", "--workers", "1", "--workers-timeout", "40s", "--out", out, "--quiet")
	if code := second.exit(60 * time.Second); code != 0 {
		t.Fatalf("second coordinator exit %d:\n%s\n%s", code, second, w)
	}
	r, _ := readResult(t, out)
	if len(r.Workers) != 1 || r.Workers[0].Name != "steady" || r.Workers[0].Requests == 0 || r.Workers[0].Lost {
		t.Errorf("workers %+v, want the same worker carrying the second run", r.Workers)
	}
	select {
	case <-w.done:
		t.Fatalf("the worker exited:\n%s", w)
	default:
	}
	w.cmd.Process.Signal(syscall.SIGTERM)
	if code := w.exit(20 * time.Second); code != 0 {
		t.Errorf("worker exit %d after SIGTERM:\n%s", code, w)
	}
}
