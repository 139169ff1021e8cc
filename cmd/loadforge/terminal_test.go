package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/loadforge/loadforge/schemas"
)

// pane is a tmux session on a private server, running one command in a
// real terminal whose screen the test reads.
type pane struct {
	t    *testing.T
	tmux string
	sock string
}

// startPane runs command in a 200×50 tmux pane. Without tmux the test is
// skipped, unless LOADFORGE_REQUIRE_TMUX is set (CI).
func startPane(t *testing.T, command string) *pane {
	t.Helper()
	bin, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("LOADFORGE_REQUIRE_TMUX") != "" {
			t.Fatal("tmux is required (LOADFORGE_REQUIRE_TMUX) but not installed")
		}
		t.Skip("tmux not installed")
	}
	p := &pane{t: t, tmux: bin, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	// The pane stays after the command, so that its last screen can be read.
	p.run("new-session", "-d", "-x", "200", "-y", "50", command+"; echo LOADFORGE-EXIT=$?; sleep 600")
	t.Cleanup(func() { _ = exec.Command(p.tmux, "-S", p.sock, "kill-server").Run() })
	return p
}

func (p *pane) run(args ...string) string {
	p.t.Helper()
	out, err := exec.Command(p.tmux, append([]string{"-S", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

// screen is the pane's visible text, one string per line, trailing blanks cut.
func (p *pane) screen() []string {
	lines := strings.Split(p.run("capture-pane", "-p"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// waitScreen polls the screen until cond holds on it (or fails after 60 s).
func (p *pane) waitScreen(what string, cond func([]string) bool) []string {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := p.screen()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no %s on the screen:\n%s", what, strings.Join(s, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var (
	progressLine = regexp.MustCompile(`^(\d+)s/10s \[[█░]{16}\]  vus \d+ │ per second: \d+ req/s, \d+ err/s, p95 \S+ │ total: \d+ req, \d+ err \(\d+\.\d+%\)$`)
	progressText = regexp.MustCompile(`per second:|req/s|\[[█░]+\]`)
	logText      = regexp.MustCompile(`level=[A-Z]+`)
)

func contains(s []string, re *regexp.Regexp) bool {
	for _, l := range s {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

// checkScreen fails unless the screen holds exactly one progress line, whole
// and alone on its line, and no log line shares a line with progress text.
func checkScreen(t *testing.T, when string, s []string) (elapsed string) {
	t.Helper()
	n := 0
	for _, l := range s {
		if m := progressLine.FindStringSubmatch(l); m != nil {
			n++
			elapsed = m[1]
			continue
		}
		if progressText.MatchString(l) && !strings.HasPrefix(strings.TrimSpace(l), "endpoint") {
			t.Errorf("%s: a broken progress line: %q", when, l)
		}
		if logText.MatchString(l) && progressText.MatchString(l) {
			t.Errorf("%s: a log line glued to the progress line: %q", when, l)
		}
	}
	if n != 1 {
		t.Errorf("%s: %d progress lines, want 1:\n%s", when, n, strings.Join(s, "\n"))
	}
	return elapsed
}

// A run in a real terminal: at about 1 s, mid-run (right after log lines)
// and at the end the screen shows one progress line, never a log line glued
// to it.
func TestTerminalShowsOneProgressLine(t *testing.T) {
	base := startTarget(t)
	p := startPane(t, binary+" run --url '"+base+"/delay?ms=2' --vus 4 --duration 10s --graceful-stop 2s "+
		"--listen 127.0.0.1:0 --log-level debug")

	first := p.waitScreen("progress line", func(s []string) bool { return contains(s, progressLine) })
	// The first line drawn is that of second 1; a busy machine may read the screen a little late.
	if e, _ := strconv.Atoi(checkScreen(t, "first second", first)); e < 1 || e > 4 {
		t.Errorf("first progress line read at %ds, want about 1 s", e)
	}
	if !contains(first, regexp.MustCompile(`msg="run started"`)) {
		t.Errorf("--log-level info or lower shows the info lines:\n%s", strings.Join(first, "\n"))
	}

	// Mid-run: make the collector log (malformed messages) while the line is up.
	m := regexp.MustCompile(`bus listening on (\S+) \(run (\w+)\)`).FindStringSubmatch(strings.Join(first, "\n"))
	if m == nil {
		t.Fatalf("no bus line:\n%s", strings.Join(first, "\n"))
	}
	nc, err := nats.Connect(m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Well-formed but without a sequence number: dropped, with a debug line each.
	bad, err := schemas.Encode(&schemas.MetricEvent{SchemaVersion: schemas.Version, RunID: m[2], WorkerID: "intruder"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := nc.Publish("loadforge."+m[2]+".metrics.intruder", bad); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	mid := p.waitScreen("the collector's log lines", func(s []string) bool {
		n := 0
		for _, l := range s {
			if strings.Contains(l, "dropped malformed message") {
				n++
			}
		}
		return n >= 3
	})
	checkScreen(t, "mid-run", mid)
	if last := mid[len(mid)-1]; !progressLine.MatchString(last) {
		t.Errorf("mid-run: the progress line is not the last line but %q", last)
	}

	end := p.waitScreen("the end", func(s []string) bool { return contains(s, regexp.MustCompile(`LOADFORGE-EXIT=`)) })
	checkScreen(t, "end", end)
	if !contains(end, regexp.MustCompile(`LOADFORGE-EXIT=0$`)) {
		t.Errorf("exit status:\n%s", strings.Join(end, "\n"))
	}
	// The last progress line comes before the summary, with nothing empty after the end.
	summary := -1
	for i, l := range end {
		if strings.Contains(l, ": completed in ") {
			summary = i
		}
		if progressLine.MatchString(l) && summary >= 0 {
			t.Errorf("a progress line after the summary: %q", l)
		}
		if progressLine.MatchString(l) && strings.Contains(l, "vus 0 │ per second: 0 req/s") {
			t.Errorf("an empty row after the end: %q", l)
		}
	}
	if summary < 0 {
		t.Errorf("no summary:\n%s", strings.Join(end, "\n"))
	}
}

// In a terminal the default level shows warnings and errors only.
func TestTerminalDefaultLogLevelIsWarn(t *testing.T) {
	base := startTarget(t)
	p := startPane(t, binary+" run --url '"+base+"/' --vus 1 --duration 1s")
	end := p.waitScreen("the end", func(s []string) bool { return contains(s, regexp.MustCompile(`LOADFORGE-EXIT=`)) })
	if contains(end, regexp.MustCompile(`level=INFO`)) || !contains(end, regexp.MustCompile(`LOADFORGE-EXIT=0$`)) {
		t.Errorf("info lines in a terminal by default, or a failed run:\n%s", strings.Join(end, "\n"))
	}
}
