package main_test

// The open model and the exact rate limit, end to end: the built binary
// against nginx (whose access log counts what arrived) and the demo target.
// Bounds on times and rates are wide, for a busy machine; docs/open-model.md
// gives the figures measured on an idle one.

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

func runForResult(t *testing.T, args ...string) (*schemas.Result, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runLoadforge(t, append(args, "--quiet", "--out", out)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r, _ := readResult(t, out)
	return r, stdout
}

// --rate 2000 --duration 5s: 10,000 arrivals, each sent once or dropped, and
// nginx logs exactly what the result counts.
func TestNginxOpenModelSendsTheSchedule(t *testing.T) {
	ngx := startNginx(t)
	r, _ := runForResult(t, "run", "--url", ngx.URL+"/", "--rate", "2000", "--duration", "5s")
	tot := r.Totals
	if got := ngx.logged(t); tot.Requests != got {
		t.Errorf("result counts %d requests, nginx logged %d", tot.Requests, got)
	}
	// Every arrival is run or dropped; how many a busy machine drops is its
	// own (docs/open-model.md has an idle machine's figures).
	if tot.Requests+tot.DroppedIterations != 10_000 || tot.Requests < 5_000 {
		t.Errorf("%d requests and %d dropped of 10,000 arrivals", tot.Requests, tot.DroppedIterations)
	}
	if tot.ScheduleLagMs == nil || tot.ServiceTimeMs.Max == 0 || tot.LatencyMs.P50 < tot.ServiceTimeMs.P50 {
		t.Errorf("latency %+v, service time %+v, schedule lag %+v", tot.LatencyMs, tot.ServiceTimeMs, tot.ScheduleLagMs)
	}
}

// 10 VUs under --rps-limit 200 for 3 s: the slots before the end, 600 at
// most, and none after; nginx logs the same. The limiter's precision is
// measured on an idle machine (docs/open-model.md).
func TestNginxRPSLimitIsExact(t *testing.T) {
	ngx := startNginx(t)
	r, _ := runForResult(t, "run", "--url", ngx.URL+"/", "--vus", "10", "--rps-limit", "200", "--duration", "3s")
	if got := ngx.logged(t); r.Totals.Requests != got {
		t.Errorf("result counts %d requests, nginx logged %d", r.Totals.Requests, got)
	}
	// Never more than the slots; a busy machine's VUs may fall behind the
	// grid and leave the last slots unused.
	if n := r.Totals.Requests; n > 600 || n < 300 {
		t.Errorf("%d requests, want 600 at most (and at least half)", n)
	}
}

// The open model against the demo target: a 50 ms endpoint at 500/s needs
// about 25 VUs, and the pool grows to that, not to its cap.
func TestOpenModelPoolGrowsToTheNeed(t *testing.T) {
	base := startTarget(t)
	r, _ := runForResult(t, "run", "--url", base+"/delay?ms=50", "--rate", "500", "--duration", "4s", "--max-vus", "200")
	if n := r.Totals.Requests; n+r.Totals.DroppedIterations != 2000 || n != targetCount(t, base) || n < 1900 {
		t.Errorf("%d requests, %d dropped, target saw %d; want 2000", n, r.Totals.DroppedIterations, targetCount(t, base))
	}
	peak := 0
	for _, row := range r.Timeline {
		peak = max(peak, row.VUs)
	}
	if peak < 25 || peak > 200 {
		t.Errorf("the pool peaked at %d VUs; 500/s × 50 ms needs about 25", peak)
	}
	// The measurement never comes in under the service time; what it adds on
	// an idle machine is measured in docs/open-model.md, a busy one adds more.
	if p50 := r.Totals.LatencyMs.P50; p50 < 50 || p50 > 500 {
		t.Errorf("p50 %v ms against a 50 ms endpoint", p50)
	}
}

// A stall of 500 ms every 2 s shows in an open model's p99.
func TestOpenModelSeesTheStall(t *testing.T) {
	base := startTarget(t)
	r, _ := runForResult(t, "run", "--url", base+"/stall?every=2s&ms=500", "--rate", "200", "--duration", "4s")
	if p99 := r.Totals.LatencyMs.P99; p99 < 300 {
		t.Errorf("p99 %v ms against a 500 ms stall every 2 s", p99)
	}
}

// Two VUs cannot serve 100/s of a 100 ms endpoint: the shortfall shows as
// dropped iterations, and the summary says the rate was not kept.
func TestStarvedPoolIsReported(t *testing.T) {
	base := startTarget(t)
	r, stdout := runForResult(t, "run", "--url", base+"/delay?ms=100", "--rate", "100", "--duration", "2s", "--max-vus", "2")
	tot := r.Totals
	if tot.DroppedIterations < 100 || tot.Requests+tot.DroppedIterations != 200 {
		t.Errorf("%d requests, %d dropped of 200 arrivals", tot.Requests, tot.DroppedIterations)
	}
	if !strings.Contains(stdout, "WARNING: the generator could not keep the rate") || len(r.Warnings) == 0 {
		t.Errorf("no warning; summary:\n%s", stdout)
	}
}
