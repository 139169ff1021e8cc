package worker

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testConn is a bus connection for a worker that will not run.
func testConn(t testing.TB) *bus.Conn {
	t.Helper()
	b, err := bus.Open(bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	c, err := b.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitLimit bounds every wait for a signal; generous for a loaded machine.
const waitLimit = 20 * time.Second

// recorder keeps, in arrival order, what the worker publishes on the bus.
type recorder struct {
	runID string

	mu        sync.Mutex
	events    []schemas.MetricEvent
	hellos    []schemas.WorkerHello
	beats     []schemas.WorkerHeartbeat
	bye       *schemas.WorkerBye
	afterBye  int      // messages from the worker after its bye
	badDecode []string // subjects whose message did not decode
	notify    chan struct{}
}

func (r *recorder) handle(subject string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	decode := func(m schemas.Versioned) bool {
		if err := schemas.Decode(data, m); err != nil {
			r.badDecode = append(r.badDecode, subject+": "+err.Error())
			return false
		}
		return true
	}
	fromWorker := true
	switch {
	case strings.HasPrefix(subject, schemas.Subject(r.runID, schemas.KindMetrics)+"."):
		var ev schemas.MetricEvent
		if decode(&ev) {
			r.events = append(r.events, ev)
		}
	case subject == schemas.Subject(r.runID, schemas.KindHello):
		var m schemas.WorkerHello
		if decode(&m) {
			r.hellos = append(r.hellos, m)
		}
	case subject == schemas.Subject(r.runID, schemas.KindHeartbeat):
		var m schemas.WorkerHeartbeat
		if decode(&m) {
			r.beats = append(r.beats, m)
		}
	case subject == schemas.Subject(r.runID, schemas.KindBye):
		var m schemas.WorkerBye
		if decode(&m) {
			r.bye = &m
			fromWorker = false
		}
	default:
		fromWorker = false // our own state and scale messages
	}
	if fromWorker && r.bye != nil {
		r.afterBye++
	}
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// harness plays the session and the scheduler around one worker.
type harness struct {
	t      *testing.T
	runID  string
	bus    *bus.Bus
	ctl    *bus.Conn
	w      *Worker
	rec    *recorder
	cancel context.CancelFunc
	runErr chan error

	t0       time.Time
	scaleSeq uint64
	result   *error // set once Run has returned
}

// baseConfig is a one-VU-friendly config for run "run1" with the given tasks.
func baseConfig(tasks ...schemas.Task) Config {
	return Config{
		RunID:         "run1",
		FlushInterval: 50 * time.Millisecond,
		Spec:          schemas.RunSpec{SchemaVersion: schemas.Version, RunID: "run1", Scenario: schemas.Scenario{Tasks: tasks}},
	}
}

func task(name string, weight int, urls ...string) schemas.Task {
	t := schemas.Task{Name: name, Weight: weight}
	for _, u := range urls {
		t.Requests = append(t.Requests, schemas.Request{Name: name, Method: http.MethodGet, URL: u})
	}
	return t
}

// startWorker opens a bus, starts a worker with cfg and waits until it is ready.
func startWorker(t *testing.T, cfg Config) *harness {
	t.Helper()
	b, err := bus.Open(bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, runID: cfg.RunID, bus: b, runErr: make(chan error, 1)}
	t.Cleanup(h.close)
	if h.ctl, err = b.Connect("test-control"); err != nil {
		t.Fatal(err)
	}
	h.rec = &recorder{runID: cfg.RunID, notify: make(chan struct{}, 1)}
	// One subscription keeps the worker's messages in the order it sent them.
	if _, err := h.ctl.SubscribeRaw(schemas.AllRun(cfg.RunID), h.rec.handle); err != nil {
		t.Fatal(err)
	}
	if err := h.ctl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	wc, err := b.Connect("test-worker")
	if err != nil {
		t.Fatal(err)
	}
	if h.w, err = New(cfg, wc); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.runErr <- h.w.Run(ctx) }()
	select {
	case <-h.w.Ready():
	case err := <-h.runErr:
		t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(waitLimit):
		t.Fatal("worker not ready")
	}
	return h
}

func (h *harness) close() {
	if h.cancel != nil {
		h.cancel()
		if h.result == nil {
			select {
			case <-h.runErr:
			case <-time.After(waitLimit):
				h.t.Error("Run did not return after cancel")
			}
		}
	}
	if h.bus != nil {
		_ = h.bus.Close(context.Background())
	}
}

func (h *harness) publish(kind string, m any) {
	h.t.Helper()
	if err := h.ctl.Publish(schemas.Subject(h.runID, kind), m); err != nil {
		h.t.Fatal(err)
	}
}

// running publishes state running with t0 = now.
func (h *harness) running() {
	h.t0 = time.Now()
	h.publish(schemas.KindState, &schemas.SessionState{
		SchemaVersion: schemas.Version, RunID: h.runID, State: schemas.StateRunning,
		AtNs: h.t0.UnixNano(), StartedAtNs: h.t0.UnixNano(),
	})
}

// scale publishes the next scale command.
func (h *harness) scale(vus int) {
	h.scaleSeq++
	h.scaleWithSeq(h.scaleSeq, vus)
}

func (h *harness) scaleWithSeq(seq uint64, vus int) {
	now := time.Now()
	h.publish(schemas.KindScale, &schemas.ScaleCommand{
		SchemaVersion: schemas.Version, RunID: h.runID, Seq: seq,
		AtNs: now.UnixNano(), ElapsedNs: now.UnixNano() - h.t0.UnixNano(), TargetVUs: vus,
	})
}

// stop publishes state stopping.
func (h *harness) stop(grace time.Duration, hard bool) {
	h.publish(schemas.KindState, &schemas.SessionState{
		SchemaVersion: schemas.Version, RunID: h.runID, State: schemas.StateStopping,
		AtNs: time.Now().UnixNano(), StartedAtNs: h.t0.UnixNano(),
		GracefulStopNs: int64(grace), Hard: hard, Outcome: schemas.StateCompleted,
	})
}

// wait waits for Run to return and for its bye to arrive, and returns Run's error.
func (h *harness) wait() error {
	h.t.Helper()
	select {
	case err := <-h.runErr:
		h.result = &err
	case <-time.After(waitLimit):
		h.t.Fatal("Run did not return")
	}
	h.waitUntil("bye", func() bool {
		h.rec.mu.Lock()
		defer h.rec.mu.Unlock()
		return h.rec.bye != nil
	})
	return *h.result
}

// waitUntil waits for cond, checking it whenever a message arrives from the
// worker (metric events flow every flush interval).
func (h *harness) waitUntil(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(waitLimit)
	for !cond() {
		select {
		case <-h.rec.notify:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// events returns a copy of the metric events received so far.
func (h *harness) events() []schemas.MetricEvent {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return append([]schemas.MetricEvent(nil), h.rec.events...)
}

// sums adds up the events per endpoint name.
type sums struct {
	requests, errors uint64
	iterations       uint64
	byName           map[string]*schemas.EndpointMetrics
}

func sumEvents(evs []schemas.MetricEvent) sums {
	s := sums{byName: map[string]*schemas.EndpointMetrics{}}
	for _, ev := range evs {
		s.iterations += ev.Iterations
		for _, e := range ev.Endpoints {
			s.requests += e.Requests
			s.errors += e.Errors
			t := s.byName[e.Name]
			if t == nil {
				t = &schemas.EndpointMetrics{Name: e.Name, HTTPClient: e.HTTPClient, StatusCodes: map[string]uint64{}, ErrorsByKind: map[string]uint64{}}
				s.byName[e.Name] = t
			}
			t.Requests += e.Requests
			t.Errors += e.Errors
			t.BytesIn += e.BytesIn
			t.BytesOut += e.BytesOut
			for k, n := range e.StatusCodes {
				t.StatusCodes[k] += n
			}
			for k, n := range e.ErrorsByKind {
				t.ErrorsByKind[k] += n
			}
			t.LatencyUs = append(t.LatencyUs, e.LatencyUs...)
		}
	}
	return s
}

func (s sums) endpoint(name string) schemas.EndpointMetrics {
	if e := s.byName[name]; e != nil {
		return *e
	}
	return schemas.EndpointMetrics{Name: name}
}

// target is a test HTTP server that counts requests per path as they arrive
// and the raw bytes it reads and writes.
type target struct {
	*httptest.Server
	mu       sync.Mutex
	counts   map[string]int
	inflight atomic.Int64
	read     atomic.Int64
	written  atomic.Int64
	accepted atomic.Int64 // connections
}

// newTarget serves:
//
//	/ok           200 with a 1000-byte body
//	/status?code  that status
//	/delay?ms     200 after ms milliseconds (cut short if the client goes away)
//	/block        waits until the client goes away
//	/redirect     302 to /ok
//	/hijack       reads the request, then closes the connection without answering
func newTarget(t *testing.T) *target {
	tg := &target{counts: map[string]int{}}
	body := strings.Repeat("x", 1000)
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(body))
	})
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil {
			code = http.StatusBadRequest
		}
		w.WriteHeader(code)
	})
	mux.HandleFunc("/delay", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	})
	counting := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.mu.Lock()
		tg.counts[r.URL.Path]++
		tg.mu.Unlock()
		tg.inflight.Add(1)
		defer tg.inflight.Add(-1)
		mux.ServeHTTP(w, r)
	})
	tg.Server = httptest.NewUnstartedServer(counting)
	tg.Listener = &countingListener{Listener: tg.Listener, read: &tg.read, written: &tg.written, accepted: &tg.accepted}
	tg.Start()
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) count(path string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.counts[path]
}

func (tg *target) total() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	n := 0
	for _, c := range tg.counts {
		n += c
	}
	return n
}

type countingListener struct {
	net.Listener
	read, written, accepted *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.accepted != nil {
		l.accepted.Add(1)
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.read.Add(int64(n))
	return n, err
}

// Write counts p before writing it, then takes back what did not go: the
// peer may read the bytes before Write returns, and a test that compares
// what the peer read with this count must never find the count behind.
func (c *countingConn) Write(p []byte) (int, error) {
	c.l.written.Add(int64(len(p)))
	n, err := c.Conn.Write(p)
	c.l.written.Add(int64(n - len(p)))
	return n, err
}

// iterate runs one task picked by weight and reports whether it ran to the
// end: an iteration without its count or duration, for tests and benchmarks.
func (w *Worker) iterate(stopCtx context.Context, v *vu) bool {
	return w.runRequests(stopCtx, v, w.tasks[w.pickTask(v.rng)])
}
