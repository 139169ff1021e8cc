package worker

import (
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/arrival"
	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// fakeService answers each request after the delay its path asks for, in the
// test's (fake) time, and remembers when each request came.
type fakeService struct {
	delays map[string]time.Duration

	mu       sync.Mutex
	arrivals []time.Time
	inFlight int
	peak     int
}

func (f *fakeService) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.arrivals = append(f.arrivals, time.Now())
	f.inFlight++
	f.peak = max(f.peak, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	t := time.NewTimer(f.delays[req.URL.Path])
	defer t.Stop()
	select {
	case <-t.C:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Header: http.Header{},
		Body: io.NopCloser(strings.NewReader("ok")), Request: req}, nil
}

// openRun is the outcome of one open-model run on a fake service.
type openRun struct {
	requests, dropped, iterations uint64
	latency, service              map[string][][2]int64 // by endpoint
	lag                           [][2]int64
	vus                           int // VUs the pool started
	svc                           *fakeService
}

// runOpen runs an open model of the given scenario and pattern against svc,
// in fake time, from a t0 that lies `late` in the past, and collects what the
// worker would publish. It stops the pool gracefully a second after the
// pattern's end, when every request it started is done.
func runOpen(t *testing.T, sc schemas.Scenario, svc *fakeService, a schemas.ArrivalRate, late time.Duration) openRun {
	t.Helper()
	var d time.Duration
	for _, s := range a.Stages {
		d += time.Duration(s.DurationNs)
	}
	return runOpenStopped(t, sc, svc, a, late, d+time.Second)
}

// runOpenStopped is runOpen with the graceful stop at `stop` after t0; it
// waits for the VUs to finish what they run after it.
func runOpenStopped(t *testing.T, sc schemas.Scenario, svc *fakeService, a schemas.ArrivalRate, late, stop time.Duration) openRun {
	t.Helper()
	conn := testConn(t) // outside the bubble: the bus has goroutines of its own
	var run openRun
	synctest.Test(t, func(t *testing.T) {
		cfg := Config{RunID: "run1", Shards: 2, Client: &http.Client{Transport: svc},
			Spec: schemas.RunSpec{SchemaVersion: schemas.Version, RunID: "run1", Scenario: sc}}
		w, err := New(cfg, conn)
		if err != nil {
			t.Fatal(err)
		}
		w.timersOnly = true
		t0 := time.Now().Add(-late)
		var d time.Duration
		for _, s := range a.Stages {
			d += time.Duration(s.DurationNs)
		}
		cmd := &schemas.ScaleCommand{SchemaVersion: schemas.Version, RunID: "run1", Seq: 1,
			AtNs: t0.UnixNano(), TargetVUs: a.PreAllocatedVUs, Arrivals: &a, EndNs: t0.Add(d).UnixNano()}
		if !w.followPattern(cmd) {
			t.Fatal("an open-model command was not taken as one")
		}
		time.Sleep(time.Until(t0.Add(stop)))
		synctest.Wait()
		w.stopOpen()
		w.vuWG.Wait()

		eps, iterations := w.agg.collect(w.shards, w.endpoints)
		var ev schemas.MetricEvent
		w.fillOpen(&ev)
		run = openRun{iterations: iterations, dropped: ev.DroppedIterations, lag: ev.ScheduleLagUs,
			latency: map[string][][2]int64{}, service: map[string][][2]int64{}, svc: svc}
		for _, e := range eps {
			run.requests += e.Requests
			run.latency[e.Name] = e.LatencyUs
			run.service[e.Name] = e.ServiceTimeUs
		}
		run.vus = len(w.open.Load().all)
	})
	return run
}

func constantRate(rate float64, d time.Duration, maxVUs, pre int) schemas.ArrivalRate {
	return schemas.ArrivalRate{Stages: []schemas.RateStage{{DurationNs: 0, Rate: rate}, {DurationNs: int64(d), Rate: rate}}, MaxVUs: maxVUs, PreAllocatedVUs: pre}
}

func oneRequest(path string) schemas.Scenario {
	return schemas.Scenario{Tasks: []schemas.Task{{Name: "t", Weight: 1,
		Requests: []schemas.Request{{Name: "req", Method: http.MethodGet, URL: "http://svc.test" + path}}}}}
}

// sparseOf is the sparse histogram of the given durations, each so many times.
func sparseOf(counts map[time.Duration]int64) [][2]int64 {
	h := latency.New()
	for d, n := range counts {
		_ = h.RecordValues(d.Microseconds(), n)
	}
	return latency.Sparse(h)
}

func hist(pairs [][2]int64) *hdrhistogram.Histogram {
	h := latency.New()
	latency.AddSparse(h, pairs)
	return h
}

// Every arrival starts at its intended time, to the nanosecond, however the
// responses go; the pool grows to what the rate needs and no further.
func TestOpenModelKeepsTheSchedule(t *testing.T) {
	svc := &fakeService{delays: map[string]time.Duration{"/": 23 * time.Millisecond}}
	// 200/s for 1 s against 23 ms: 5 requests in flight, whatever the pool's start.
	run := runOpen(t, oneRequest("/"), svc, constantRate(200, time.Second, 100, 1), 0)
	if run.requests != 200 || run.iterations != 200 || run.dropped != 0 {
		t.Errorf("requests %d, iterations %d, dropped %d; want 200, 200, 0", run.requests, run.iterations, run.dropped)
	}
	t0 := svc.arrivals[0]
	for i, at := range svc.arrivals {
		if want := t0.Add(time.Duration(i) * 5 * time.Millisecond); !at.Equal(want) {
			t.Fatalf("request %d sent at %v, intended %v", i, at.Sub(t0), want.Sub(t0))
		}
	}
	if svc.peak != 5 || run.vus != 5 {
		t.Errorf("peak in flight %d, pool %d VUs; the rate needs 5", svc.peak, run.vus)
	}
	if h := hist(run.lag); h.TotalCount() != 200 || h.Max() > 1 {
		t.Errorf("schedule lag: %d arrivals, max %d µs", h.TotalCount(), h.Max())
	}
}

// The corrected (latency_us) and uncorrected (service_time_us) histograms are
// equal, sample for sample, while every arrival finds a VU ready; they differ
// exactly by the arrivals that had to wait: when the pool was starved and
// grew VUs that first ran their setup. An arrival that finds no VU at all at
// the cap is dropped, not queued, and leaves both histograms alike.
func TestCorrectedDiffersExactlyWhenThePoolIsStarved(t *testing.T) {
	service := 5 * time.Millisecond
	withSetup := func() schemas.Scenario {
		sc := oneRequest("/work")
		sc.Setup = []schemas.Request{{Name: "login", Method: http.MethodPost, URL: "http://svc.test/login"}}
		return sc
	}
	delays := map[string]time.Duration{"/work": service, "/login": 30 * time.Millisecond}

	t.Run("ready pool", func(t *testing.T) {
		run := runOpen(t, oneRequest("/work"), &fakeService{delays: delays}, constantRate(50, time.Second, 10, 1), 0)
		if run.requests != 50 || !slices.Equal(run.latency["req"], run.service["req"]) {
			t.Errorf("%d requests; latency %v, service %v", run.requests, run.latency["req"], run.service["req"])
		}
	})

	t.Run("starved at the cap", func(t *testing.T) {
		// 100/s against 25 ms with 2 VUs: one arrival in three finds both busy.
		svc := &fakeService{delays: map[string]time.Duration{"/work": 25 * time.Millisecond}}
		run := runOpen(t, oneRequest("/work"), svc, constantRate(100, time.Second, 2, 2), 0)
		if run.dropped != 33 || run.requests != 67 || run.vus != 2 {
			t.Errorf("dropped %d, requests %d, pool %d; want 33, 67, 2", run.dropped, run.requests, run.vus)
		}
		if !slices.Equal(run.latency["req"], run.service["req"]) {
			t.Errorf("latency %v, service %v", run.latency["req"], run.service["req"])
		}
	})

	t.Run("starved, growing VUs with a setup", func(t *testing.T) {
		// 50/s (every 20 ms) against 3 ms, no VU at first: arrival 0 waits
		// and starts VU 1, which logs in until 30 ms; arrival 1 (20 ms) finds
		// VU 1 still logging in, waits too and starts VU 2 (ready at 50 ms).
		// VU 1 takes the oldest first: arrival 0 at 30 ms, then arrival 1 at
		// 33 ms, not VU 2; from arrival 2 on a VU is always free.
		delays := map[string]time.Duration{"/work": 3 * time.Millisecond, "/login": 30 * time.Millisecond}
		run := runOpen(t, withSetup(), &fakeService{delays: delays}, constantRate(50, time.Second, 10, 0), 0)
		if run.requests != 50+2 || run.vus != 2 || run.dropped != 0 {
			t.Fatalf("requests %d (with 2 logins), pool %d, dropped %d", run.requests, run.vus, run.dropped)
		}
		ms := time.Millisecond
		corrected, uncorrected := hist(run.latency["req"]), hist(run.service["req"])
		if want := sparseOf(map[time.Duration]int64{3 * ms: 50}); !slices.Equal(latency.Sparse(uncorrected), want) {
			t.Fatalf("service times %v, want 50 × 3 ms", run.service["req"])
		}
		// Arrival 0 waited 30 ms, arrival 1 from 20 to 33 ms; each then took 3 ms.
		want := sparseOf(map[time.Duration]int64{3 * ms: 48, 33 * ms: 1, 16 * ms: 1})
		if got := latency.Sparse(corrected); !slices.Equal(got, want) {
			t.Errorf("latency from the intended start %v, want %v", got, want)
		}
		// Setup requests have no intended start: their two histograms agree.
		if !slices.Equal(run.latency["login"], run.service["login"]) {
			t.Errorf("login: latency %v, service %v", run.latency["login"], run.service["login"])
		}
	})
}

// A graceful stop that finds arrivals waiting for a VU still runs them: they
// were due before it, handed to the pool, and every arrival is either run or
// dropped. At 10,000/s the waiting arrivals start no VU for growAfter, so the
// one VU, busy 1 ms a request, leaves most of the pattern's 15 arrivals
// waiting when the stop comes, just after the pattern's end.
func TestAGracefulStopRunsTheWaitingArrivals(t *testing.T) {
	svc := &fakeService{delays: map[string]time.Duration{"/": time.Millisecond}}
	// 10,000/s for 1.5 ms: arrivals at 0, 0.1, …, 1.4 ms; one pre-allocated VU.
	run := runOpenStopped(t, oneRequest("/"), svc, constantRate(10_000, 1500*time.Microsecond, 100, 1), 0, 1600*time.Microsecond)
	if run.requests != 15 || run.iterations != 15 || run.dropped != 0 || run.vus != 1 {
		t.Errorf("requests %d, iterations %d, dropped %d, pool %d; want 15, 15, 0, 1", run.requests, run.iterations, run.dropped, run.vus)
	}
}

// When the generator learns the pattern late, the arrivals already due go at
// once: each one's lag is recorded, and its latency counts from the time it
// was due, not from when it went.
func TestLateArrivalsCountFromTheirIntendedTime(t *testing.T) {
	service := 5 * time.Millisecond
	svc := &fakeService{delays: map[string]time.Duration{"/": service}}
	// t0 was 45 ms ago: arrivals at 0, 10, 20, 30 and 40 ms are overdue.
	run := runOpen(t, oneRequest("/"), svc, constantRate(100, 200*time.Millisecond, 50, 0), 45*time.Millisecond)
	if run.requests != 20 || run.dropped != 0 {
		t.Fatalf("requests %d, dropped %d", run.requests, run.dropped)
	}
	ms := time.Millisecond
	lag := latency.Sparse(hist(run.lag))
	// On time is 0 µs, recorded as the histogram's lowest value, 1 µs.
	wantLag := sparseOf(map[time.Duration]int64{time.Microsecond: 15, 5 * ms: 1, 15 * ms: 1, 25 * ms: 1, 35 * ms: 1, 45 * ms: 1})
	if !slices.Equal(lag, wantLag) {
		t.Errorf("schedule lag %v, want %v", lag, wantLag)
	}
	got := latency.Sparse(hist(run.latency["req"]))
	want := sparseOf(map[time.Duration]int64{5 * ms: 15, 10 * ms: 1, 20 * ms: 1, 30 * ms: 1, 40 * ms: 1, 50 * ms: 1})
	if !slices.Equal(got, want) {
		t.Errorf("latency %v, want %v", got, want)
	}
}

// A dispatcher stopped behind its schedule counts the arrivals of its share
// that fell due but were never handed over as dropped, and no others.
func TestDropOverdueCountsTheShareDueBeforeTheStop(t *testing.T) {
	sched, err := arrival.New([]arrival.Stage{{Duration: 0, Rate: 100}, {Duration: time.Hour, Rate: 100}})
	if err != nil {
		t.Fatal(err)
	}
	om := &openModel{sched: sched, origin: time.Now().Add(-time.Second)}
	// Worker 1 of 2, next arrival 11: the odd arrivals 11 … 99 were due.
	om.next, om.cur = 11, arrivalShare{index: 1, of: 2}
	om.dropOverdue()
	if got := om.dropped.Load(); got < 45 || got > 46 {
		t.Errorf("dropped %d, want the 45 odd arrivals from 11 due in the first second (46 if the clock moved on)", got)
	}
	om.dropped.Store(0)
	om.next, om.cur = sched.Total(), arrivalShare{index: 0, of: 1}
	om.dropOverdue()
	if got := om.dropped.Load(); got != 0 {
		t.Errorf("dropped %d past the schedule's end", got)
	}
}

// The waiting arrivals come out oldest first however pushes and pops
// interleave, and a queue that drained takes the next burst in the room it
// kept.
func TestArrivalQueueIsFIFOAndKeepsItsRoom(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	var q arrivalQueue
	var want []time.Time
	base := time.Unix(1_700_000_000, 0)
	next := 0
	for range 20_000 {
		if len(want) > 0 && rng.IntN(3) == 0 || len(want) > 300 {
			if got := q.pop(); !got.Equal(want[0]) {
				t.Fatalf("popped %v, want %v", got.Sub(base), want[0].Sub(base))
			}
			want = want[1:]
		} else {
			at := base.Add(time.Duration(next))
			next++
			q.push(at)
			want = append(want, at)
		}
		if q.len() != len(want) {
			t.Fatalf("len %d, want %d", q.len(), len(want))
		}
	}
	for q.len() > 0 {
		q.pop()
	}
	burst := func() {
		for i := range 200 {
			q.push(base.Add(time.Duration(i)))
		}
		for range 200 {
			q.pop()
		}
	}
	burst()
	if n := testing.AllocsPerRun(10, burst); n != 0 {
		t.Errorf("a burst after a drained one allocated %v times", n)
	}
}
