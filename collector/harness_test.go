package collector

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"go.uber.org/goleak"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitTimeout bounds every wait for a message; generous for a busy machine.
const waitTimeout = 30 * time.Second

// harness runs a collector on a real in-process bus; the test plays the
// session and the workers on its own connection.
type harness struct {
	t       *testing.T
	run     string
	t0      int64
	pub     *bus.Conn
	col     *Collector
	snaps   chan *schemas.Snapshot
	results chan *schemas.Result
	done    chan error
	cancel  context.CancelFunc // cancels Run's context
	runErr  error
	waited  bool
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	b, err := bus.Open(bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(context.Background()); err != nil {
			t.Errorf("close bus: %v", err)
		}
	})
	colConn, err := b.Connect("collector")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := b.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RunID == "" {
		cfg.RunID = "run1"
	}
	h := &harness{
		t:       t,
		run:     cfg.RunID,
		pub:     pub,
		snaps:   make(chan *schemas.Snapshot, 10000),
		results: make(chan *schemas.Result, 10),
		done:    make(chan error, 1),
	}
	if _, err := bus.Subscribe(pub, schemas.Subject(h.run, schemas.KindSnapshot),
		func(_ string, s *schemas.Snapshot) { h.snaps <- s }); err != nil {
		t.Fatal(err)
	}
	if _, err := bus.Subscribe(pub, schemas.Subject(h.run, schemas.KindResult),
		func(_ string, r *schemas.Result) { h.results <- r }); err != nil {
		t.Fatal(err)
	}
	if err := pub.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.col, err = New(cfg, colConn); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.col.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		h.wait()
	})
	select {
	case <-h.col.Ready():
	case err := <-h.done:
		h.done <- err
		t.Fatalf("collector ended before it was ready: %v", err)
	case <-time.After(waitTimeout):
		t.Fatal("collector not ready")
	}
	return h
}

// wait returns Run's error once it has returned.
func (h *harness) wait() error {
	h.t.Helper()
	if !h.waited {
		select {
		case h.runErr = <-h.done:
			h.waited = true
		case <-time.After(waitTimeout):
			h.t.Fatal("Run did not return")
		}
	}
	return h.runErr
}

func (h *harness) publish(subject string, m any) {
	h.t.Helper()
	if err := h.pub.Publish(subject, m); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) publishRaw(subject string, data []byte) {
	h.t.Helper()
	if err := h.pub.NATS().Publish(subject, data); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) flush() {
	h.t.Helper()
	if err := h.pub.Flush(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// running publishes the running state with t0 = now.
func (h *harness) running() {
	h.t0 = time.Now().UnixNano()
	h.publish(schemas.Subject(h.run, schemas.KindState), &schemas.SessionState{
		SchemaVersion: schemas.Version, RunID: h.run, State: schemas.StateRunning,
		AtNs: h.t0, StartedAtNs: h.t0,
	})
}

// stopping publishes the stopping state. Its at_ns is left out: the tests'
// events carry made-up times ahead of the clock, so the real time of the
// stop would fall before them.
func (h *harness) stopping(gracefulStop time.Duration, outcome string) {
	h.stoppingAt(0, gracefulStop, outcome)
}

func (h *harness) stoppingAt(at int64, gracefulStop time.Duration, outcome string) {
	h.publish(schemas.Subject(h.run, schemas.KindState), &schemas.SessionState{
		SchemaVersion: schemas.Version, RunID: h.run, State: schemas.StateStopping,
		AtNs: at, GracefulStopNs: int64(gracefulStop), Outcome: outcome,
	})
}

func (h *harness) hello(id string) {
	h.publish(schemas.Subject(h.run, schemas.KindHello), &schemas.WorkerHello{
		SchemaVersion: schemas.Version, RunID: h.run, WorkerID: id, Name: "name-" + id,
		AtNs: time.Now().UnixNano(),
	})
}

func (h *harness) bye(w *fakeWorker) {
	h.publish(schemas.Subject(h.run, schemas.KindBye), &schemas.WorkerBye{
		SchemaVersion: schemas.Version, RunID: h.run, WorkerID: w.id,
		AtNs: time.Now().UnixNano(), LastSeq: w.seq, Requests: w.requests, Errors: w.errors,
	})
}

func (h *harness) event(ev *schemas.MetricEvent) {
	h.publish(schemas.MetricsSubject(h.run, ev.WorkerID), ev)
}

// result waits for the published result.
func (h *harness) result() *schemas.Result {
	h.t.Helper()
	select {
	case r := <-h.results:
		return r
	case <-time.After(waitTimeout):
		h.t.Fatal("no result")
		return nil
	}
}

// snapshotsThroughFinal collects snapshots up to and including the final one.
func (h *harness) snapshotsThroughFinal() []*schemas.Snapshot {
	h.t.Helper()
	var out []*schemas.Snapshot
	for {
		select {
		case s := <-h.snaps:
			out = append(out, s)
			if s.Final {
				return out
			}
		case <-time.After(waitTimeout):
			h.t.Fatalf("no final snapshot after %d snapshots", len(out))
		}
	}
}

func (h *harness) waitSnapshot(seq uint64) *schemas.Snapshot {
	h.t.Helper()
	for {
		select {
		case s := <-h.snaps:
			if s.Seq == seq {
				return s
			}
		case <-time.After(waitTimeout):
			h.t.Fatalf("no snapshot %d", seq)
		}
	}
}

// fakeWorker builds a worker's metric events from individual requests and
// keeps reference figures built directly from the same requests.
type fakeWorker struct {
	id       string
	seq      uint64
	requests uint64
	errors   uint64
	rng      *rand.Rand
}

func newFakeWorker(id string, seed uint64) *fakeWorker {
	return &fakeWorker{id: id, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// reference is what the result must show, computed without the collector.
type reference struct {
	total     *hdrhistogram.Histogram
	endpoints map[string]*refEndpoint
	requests  uint64
	errors    uint64
	bytesIn   uint64
	iters     uint64
	codes     map[string]uint64
	kinds     map[string]uint64
	perWorker map[string]uint64
}

type refEndpoint struct {
	hist             *hdrhistogram.Histogram
	requests, errors uint64
	bytesIn          uint64
	codes, kinds     map[string]uint64
}

func newReference() *reference {
	return &reference{
		total: latency.New(), endpoints: map[string]*refEndpoint{},
		codes: map[string]uint64{}, kinds: map[string]uint64{}, perWorker: map[string]uint64{},
	}
}

var testEndpoints = []string{"home", "login", "search"}

// event makes the worker's next event, ending at t0+end, with random
// requests on every endpoint, and adds them to ref (when not nil).
func (w *fakeWorker) event(run string, t0 int64, end time.Duration, vus int, ref *reference) *schemas.MetricEvent {
	w.seq++
	ev := &schemas.MetricEvent{
		SchemaVersion: schemas.Version, RunID: run, WorkerID: w.id, Seq: w.seq,
		StartNs: t0 + int64(end) - int64(250*time.Millisecond), EndNs: t0 + int64(end),
		VUs: vus, Iterations: uint64(w.rng.IntN(20)),
	}
	if ref != nil {
		ref.iters += ev.Iterations
	}
	for _, name := range testEndpoints {
		n := w.rng.IntN(40)
		if n == 0 {
			continue
		}
		h := latency.New()
		ep := schemas.EndpointMetrics{
			Name: name, Method: "GET", URL: "http://127.0.0.1/" + name,
			StatusCodes: map[string]uint64{}, ErrorsByKind: map[string]uint64{},
		}
		var re *refEndpoint
		if ref != nil {
			re = ref.endpoints[name]
			if re == nil {
				re = &refEndpoint{hist: latency.New(), codes: map[string]uint64{}, kinds: map[string]uint64{}}
				ref.endpoints[name] = re
			}
		}
		for range n {
			// Log-uniform from 100 µs to about 3 s, so many HDR buckets are used.
			us := int64(float64(int64(100)<<w.rng.IntN(15)) * (1 + w.rng.Float64()))
			latency.Record(h, us)
			code := "200"
			failed := w.rng.IntN(10) == 0
			if failed {
				code = "503"
				ep.Errors++
				ep.ErrorsByKind[schemas.ErrHTTP5xx]++
			}
			ep.StatusCodes[code]++
			size := uint64(100 + w.rng.IntN(1000))
			ep.BytesIn += size
			ep.BytesOut += 50
			if ref != nil {
				latency.Record(ref.total, us)
				latency.Record(re.hist, us)
				re.codes[code]++
				ref.codes[code]++
				if failed {
					re.kinds[schemas.ErrHTTP5xx]++
					ref.kinds[schemas.ErrHTTP5xx]++
				}
				re.bytesIn += size
				ref.bytesIn += size
			}
		}
		ep.Requests = uint64(n)
		ep.LatencyUs = latency.Sparse(h)
		ev.Endpoints = append(ev.Endpoints, ep)
		w.requests += ep.Requests
		w.errors += ep.Errors
		if ref != nil {
			re.requests += ep.Requests
			re.errors += ep.Errors
			ref.requests += ep.Requests
			ref.errors += ep.Errors
			ref.perWorker[w.id] += ep.Requests
		}
	}
	return ev
}

func sumSnapshots(snaps []*schemas.Snapshot) (requests, errors, bytesIn uint64) {
	for _, s := range snaps {
		requests += s.Requests
		errors += s.Errors
		bytesIn += s.BytesIn
	}
	return
}
