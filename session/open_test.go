package session

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/collector"
	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
)

func openRun(t *testing.T, url string, r pattern.RatePattern) (*schemas.Result, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	res, err := Run(context.Background(), Config{
		Name:         "open",
		Spec:         spec(url),
		Pattern:      pattern.Pattern{Rate: &r},
		GracefulStop: 5 * time.Second,
		Stdout:       &stdout,
		Stderr:       &stderr,
		Quiet:        true,
		Signals:      make(chan os.Signal),
	})
	if err != nil {
		t.Fatal(err)
	}
	return res, stdout.String()
}

// An open model starts exactly the scheduled iterations, and its result and
// summary carry the service time and the schedule lag.
func TestOpenModelRunsTheSchedule(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond)
		w.Write([]byte("ok"))
	})
	r := pattern.ConstantRate(100, 1500*time.Millisecond)
	r.MaxVUs, r.PreAllocatedVUs = 150, 1
	res, summary := openRun(t, srv.URL+"/", r)
	if res.State != schemas.StateCompleted {
		t.Fatalf("state %q", res.State)
	}
	// Every arrival is run or dropped. A pool as large as the schedule drops
	// none for want of a VU, but a dispatcher behind its schedule on a busy
	// machine when the run stops drops what it had not handed over yet.
	if got := res.Totals.Requests; got+res.Totals.DroppedIterations != 150 || got != srv.hits.Load() || got < 75 {
		t.Errorf("%d requests, server saw %d, dropped %d; want 150 in all", got, srv.hits.Load(), res.Totals.DroppedIterations)
	}
	checkSums(t, res)
	tot := res.Totals
	if tot.ScheduleLagMs == nil || tot.ServiceTimeMs.P50 < 10 || tot.LatencyMs.P50 < tot.ServiceTimeMs.P50 {
		t.Errorf("latency %+v, service %+v, lag %+v", tot.LatencyMs, tot.ServiceTimeMs, tot.ScheduleLagMs)
	}
	for _, want := range []string{"service time", "schedule lag", "intended start", "timings     waiting"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	// The summary warns of drops exactly when there were some, and of the
	// schedule lag exactly when its p99 passed the bar: a busy machine may
	// delay arrivals, which the run must then say.
	if warned, dropped := strings.Contains(summary, "could not keep the rate"), res.Totals.DroppedIterations > 0; warned != dropped {
		t.Errorf("%d dropped, warned %v:\n%s", res.Totals.DroppedIterations, warned, summary)
	}
	lagging := tot.ScheduleLagMs != nil && tot.ScheduleLagMs.P99 > float64(collector.LagWarning.Microseconds())/1000
	if warned := strings.Contains(summary, "fell behind its schedule"); warned != lagging {
		t.Errorf("schedule lag %+v, warned %v:\n%s", tot.ScheduleLagMs, warned, summary)
	}
}

// A pool too small for the rate drops iterations, and the summary says the
// generator could not keep the rate.
func TestStarvedOpenModelWarns(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.Write([]byte("ok"))
	})
	r := pattern.ConstantRate(100, time.Second)
	r.MaxVUs, r.PreAllocatedVUs = 2, 2
	res, summary := openRun(t, srv.URL+"/", r)
	tot := res.Totals
	// Two VUs at 50 ms serve at most 40 of the 100 arrivals.
	if tot.DroppedIterations < 50 || tot.Requests+tot.DroppedIterations != 100 || tot.Requests != srv.hits.Load() {
		t.Errorf("%d requests, %d dropped, server saw %d", tot.Requests, tot.DroppedIterations, srv.hits.Load())
	}
	var rows uint64
	for _, row := range res.Timeline {
		rows += row.DroppedIterations
		if row.VUs > 2 {
			t.Errorf("second %v ran %d VUs, over the cap of 2", row.TS, row.VUs)
		}
	}
	if rows != tot.DroppedIterations {
		t.Errorf("timeline drops %d, totals %d", rows, tot.DroppedIterations)
	}
	if !strings.Contains(summary, "WARNING: the generator could not keep the rate") || !strings.Contains(summary, "dropped") {
		t.Errorf("summary:\n%s", summary)
	}
}

func TestClosedSummaryHasNoOpenModelLines(t *testing.T) {
	var b bytes.Buffer
	printSummary(&b, &schemas.Result{Name: "c", Totals: schemas.Totals{Requests: 1}})
	if s := b.String(); strings.Contains(s, "service time") || strings.Contains(s, "schedule lag") || strings.Contains(s, "timings") {
		t.Errorf("closed-model summary:\n%s", s)
	}
}
