package main_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startLimitedWorkerProc starts `loadforge worker` with its open-file limit
// lowered to nofile (soft and hard), as `(ulimit -n N; loadforge worker …)` does.
func startLimitedWorkerProc(t *testing.T, name, nofile string, args ...string) *proc {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to lower the open-file limit with")
	}
	script := `ulimit -n "$1" && shift && exec "$@"`
	return startProc(t, "worker "+name, bash, append([]string{"-c", script, "bash", nofile, binary, "worker", "--name", name}, args...)...)
}

// A remote worker whose share of the VUs cannot get its connections under
// its open-file limit refuses the run at once: it logs why, and the
// coordinator exits 2 before anything is sent, naming the worker, the limit
// and what to raise. The worker then waits for the next run, and takes one
// whose share fits.
func TestWorkerShortOfFileDescriptorsRefusesTheRun(t *testing.T) {
	base := startTarget(t)
	addr := freeAddr(t)
	// 600 VUs over 2 workers: 300 each, about 364 descriptors; the limited worker has 256.
	coord := startProc(t, "coordinator", binary, "run", "--url", base+"/", "--vus", "600", "--duration", "2s",
		"--listen", addr, "--token", "fd-s3cret", "--workers", "2", "--workers-timeout", "40s", "--quiet")
	url := coord.waitLine(`bus listening on (\S+)`)[1]
	small := startLimitedWorkerProc(t, "small", "256", "--nats", url, "--token", "fd-s3cret")
	startWorkerProc(t, "big", "--nats", url, "--token", "fd-s3cret")

	if code := coord.exit(60 * time.Second); code != 2 {
		t.Fatalf("coordinator exit %d, want 2:\n%s", code, coord)
	}
	var errLines []string
	coord.mu.Lock()
	for _, l := range coord.lines {
		if strings.HasPrefix(l, "loadforge: ") {
			errLines = append(errLines, l)
		}
	}
	coord.mu.Unlock()
	if len(errLines) != 1 {
		t.Fatalf("want one error line, got %q:\n%s", errLines, coord)
	}
	for _, part := range []string{"(small on ", "refused the run", "up to 300 of the run's 600 VUs over 2 workers",
		"364 file descriptors", "open-file limit is 256 (hard 256)", "raise"} {
		if !strings.Contains(errLines[0], part) {
			t.Errorf("coordinator's error %q lacks %q", errLines[0], part)
		}
	}
	small.waitLine(`refusing the run: the open-file limit is too low.*open-file limit is 256`)
	if n := targetCount(t, base); n != 0 {
		t.Errorf("the target received %d requests, want none", n)
	}

	// The same workers carry a run whose shares fit: 300 VUs, 150 each, about 214 descriptors.
	out := filepath.Join(t.TempDir(), "r.json")
	coord = startProc(t, "coordinator 2", binary, "run", "--url", base+"/", "--vus", "300", "--duration", "2s",
		"--think", "50ms", "--listen", addr, "--token", "fd-s3cret", "--workers", "2", "--workers-timeout", "40s",
		"--out", out, "--quiet")
	if code := coord.exit(60 * time.Second); code != 0 {
		t.Fatalf("second run: exit %d, want 0:\n%s\n%s", code, coord, small)
	}
	r, _ := readResult(t, out)
	by := workersByName(r)
	if by["small"].Requests == 0 || by["big"].Requests == 0 {
		t.Errorf("workers %+v: both should have carried the run", r.Workers)
	}
	if got := targetCount(t, base); got != r.Totals.Requests || r.Totals.NotSent != nil {
		t.Errorf("result counts %d requests (not_sent %v), the target received %d", r.Totals.Requests, r.Totals.NotSent, got)
	}
}
