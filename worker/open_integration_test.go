package worker

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// newBreakdownHist is an empty timing-breakdown histogram: latency's range
// at schemas.BreakdownSigFigs digits, what the breakdown pairs rebuild.
func newBreakdownHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(latency.LowestUs, latency.HighestUs, schemas.BreakdownSigFigs)
}

// openScale publishes the open model's first command: the pattern, due from t0.
func (h *harness) openScale(a schemas.ArrivalRate) {
	h.scaleSeq++
	var d time.Duration
	for _, s := range a.Stages {
		d += time.Duration(s.DurationNs)
	}
	h.publish(schemas.KindScale, &schemas.ScaleCommand{
		SchemaVersion: schemas.Version, RunID: h.runID, Seq: h.scaleSeq, AtNs: h.t0.UnixNano(),
		TargetVUs: a.PreAllocatedVUs, Arrivals: &a, EndNs: h.t0.Add(d).UnixNano(),
	})
}

// runOpenOnBus runs an open model of url at the given rate for d through a
// worker on the bus, with the given HTTP client choice, and returns the
// summed events.
func runOpenOnBus(t *testing.T, client, url string, a schemas.ArrivalRate, expect func() bool) (sums, []schemas.MetricEvent) {
	t.Helper()
	cfg := baseConfig(task("t", 1, url))
	cfg.Spec.HTTPClient = client
	h := startWorker(t, cfg)
	h.running()
	h.openScale(a)
	h.waitUntil("every arrival", expect)
	h.stop(5*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	evs := h.events()
	return sumEvents(evs), evs
}

// Against a server that answers in 20 ms, every arrival is sent once, and its
// latency runs from its intended start: never below the service time. The
// same with either client.
func TestOpenModelAgainstADelayingServer(t *testing.T) {
	for _, client := range clients {
		t.Run(client, func(t *testing.T) { testOpenModelAgainstADelayingServer(t, client) })
	}
}

func testOpenModelAgainstADelayingServer(t *testing.T, client string) {
	tg := newTarget(t)
	// A cap as large as the schedule: whatever the machine's load, every
	// arrival finds a VU, so none may be dropped.
	a := schemas.ArrivalRate{Stages: []schemas.RateStage{{DurationNs: 0, Rate: 100}, {DurationNs: int64(time.Second), Rate: 100}},
		MaxVUs: 100, PreAllocatedVUs: 1}
	s, evs := runOpenOnBus(t, client, tg.URL+"/delay?ms=20", a, func() bool { return tg.total() >= 100 })
	var dropped uint64
	lag := latency.New()
	for _, ev := range evs {
		dropped += ev.DroppedIterations
		latency.AddSparse(lag, ev.ScheduleLagUs)
	}
	if s.requests != 100 || tg.total() != 100 || dropped != 0 || s.iterations != 100 {
		t.Errorf("requests %d, target saw %d, dropped %d, iterations %d; want 100", s.requests, tg.total(), dropped, s.iterations)
	}
	if lag.TotalCount() != 100 {
		t.Errorf("schedule lag of %d arrivals", lag.TotalCount())
	}
	e := s.endpoint("t")
	corrected, service := latency.New(), latency.New()
	waiting, receiving := newBreakdownHist(), newBreakdownHist()
	for _, ev := range evs {
		for _, ep := range ev.Endpoints {
			latency.AddSparse(corrected, ep.LatencyUs)
			latency.AddSparse(service, ep.ServiceTimeUs)
			latency.AddSparse(waiting, ep.WaitingUs)
			latency.AddSparse(receiving, ep.ReceivingUs)
			if len(ep.TLSHandshakingUs) != 0 {
				t.Errorf("TLS handshakes on plain http: %v", ep.TLSHandshakingUs)
			}
		}
	}
	// One connection per VU at most: the pool is a few VUs, all kept alive.
	if n := tg.accepted.Load(); n < 1 || n > int64(a.MaxVUs) {
		t.Errorf("%d connections opened for %d requests, pool of at most %d", n, e.Requests, a.MaxVUs)
	}
	if e.HTTPClient != wantClient(client) {
		t.Errorf("sent with %q, want %q", e.HTTPClient, wantClient(client))
	}
	if service.TotalCount() != int64(e.Requests) || service.Min() < 20_000 || corrected.Min() < service.Min() ||
		corrected.ValueAtQuantile(50) < service.ValueAtQuantile(50) {
		t.Errorf("service time: %d samples from %d µs; latency from %d µs, p50 %d vs %d",
			service.TotalCount(), service.Min(), corrected.Min(), corrected.ValueAtQuantile(50), service.ValueAtQuantile(50))
	}
	// The server waits 20 ms before its first byte: that is the waiting time.
	// It is stamped after the write returns, so a client descheduled right
	// after its write (a busy machine) sees a little less: bound the median
	// tightly and the minimum loosely.
	if waiting.TotalCount() != int64(e.Requests) || receiving.TotalCount() != int64(e.Requests) ||
		waiting.ValueAtQuantile(50) < 19_000 || waiting.Min() < 10_000 {
		t.Errorf("breakdown: %d waiting from %d µs (p50 %d µs), %d receiving",
			waiting.TotalCount(), waiting.Min(), waiting.ValueAtQuantile(50), receiving.TotalCount())
	}
}

// stallingServer holds every request that arrives in the first `stall` of
// each `every` (counted from its start) until that stretch ends.
func stallingServer(t *testing.T, every, stall time.Duration) (*httptest.Server, *atomic.Int64) {
	start := time.Now()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if phase := time.Since(start) % every; phase < stall {
			select {
			case <-time.After(stall - phase):
			case <-r.Context().Done():
			}
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// A server that stalls 300 ms of every second: an open model sees the stall
// in its p99, because arrivals keep coming during it; a closed model of two
// VUs hides it, as each VU waits out the stall with a single request
// (coordinated omission).
func TestOpenModelSeesAStallAClosedModelHides(t *testing.T) {
	srv, served := stallingServer(t, time.Second, 300*time.Millisecond)
	// A cap as large as the schedule: no arrival is dropped for want of a VU,
	// however long a busy machine holds them.
	a := schemas.ArrivalRate{Stages: []schemas.RateStage{{DurationNs: 0, Rate: 100}, {DurationNs: int64(2 * time.Second), Rate: 100}},
		MaxVUs: 200, PreAllocatedVUs: 1}
	open, _ := runOpenOnBus(t, "", srv.URL+"/", a, func() bool { return served.Load() >= 200 })
	if open.requests != 200 {
		t.Errorf("open model: %d requests, want 200", open.requests)
	}
	openHist := latency.New()
	latency.AddSparse(openHist, open.endpoint("t").LatencyUs)
	if p99 := openHist.ValueAtQuantile(99); p99 < 200_000 {
		t.Errorf("open model p99 %d µs against a 300 ms stall", p99)
	}

	h := startWorker(t, baseConfig(task("t", 1, srv.URL+"/")))
	h.running()
	h.scale(2)
	h.waitUntil("two seconds of a closed model", func() bool {
		evs := h.events()
		return len(evs) > 0 && evs[len(evs)-1].EndNs >= h.t0.Add(2*time.Second).UnixNano()
	})
	h.stop(5*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	closed := sumEvents(h.events()).endpoint("t")
	closedHist := latency.New()
	latency.AddSparse(closedHist, closed.LatencyUs)
	if closed.Requests == 0 || len(closed.ServiceTimeUs) != 0 {
		t.Fatalf("closed model: %d requests, service time sent %v", closed.Requests, closed.ServiceTimeUs)
	}
	// Each of the two VUs waits out a stall with one request, so only a few
	// of its requests see it; the open model's arrivals keep coming during
	// each stall, so a large share of its requests see it.
	const stalledUs = 150_000
	closedStalled, openStalled := countAtLeast(closedHist, stalledUs), countAtLeast(openHist, stalledUs)
	if float64(closedStalled)/float64(closed.Requests) >= float64(openStalled)/float64(open.requests)/2 {
		t.Errorf("closed model: %d of %d requests saw the stall, open model %d of %d: the closed model should hide it",
			closedStalled, closed.Requests, openStalled, open.requests)
	}
}

// countAtLeast is how many values of h are at least v (to h's precision).
func countAtLeast(h *hdrhistogram.Histogram, v int64) int64 {
	var n int64
	for _, bar := range h.Distribution() {
		if bar.From >= v {
			n += bar.Count
		}
	}
	return n
}
