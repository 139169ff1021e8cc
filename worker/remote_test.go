package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

func TestSegmentsAddUpToTheWhole(t *testing.T) {
	for _, total := range []int{0, 1, 2, 5, 7, 100, 1001} {
		for n := 1; n <= 7; n++ {
			sum, lo, hi := 0, total, 0
			for i := range n {
				p := segmentOf(total, i, n)
				sum += p
				lo, hi = min(lo, p), max(hi, p)
			}
			if sum != total || hi-lo > 1 {
				t.Errorf("total %d over %d: segments sum to %d, spread %d..%d", total, n, sum, lo, hi)
			}
		}
	}
	for _, bad := range [][3]int{{5, -1, 2}, {5, 2, 2}, {5, 0, 0}} {
		if p := segmentOf(bad[0], bad[1], bad[2]); p != 0 {
			t.Errorf("segmentOf%v = %d, want 0", bad, p)
		}
	}
}

// coordinator plays the session towards remote workers: it reads their joins
// and what they publish, and sends assignments, state and scale commands.
type coordinator struct {
	t     *testing.T
	run   string
	bus   *bus.Bus
	ctl   *bus.Conn
	joins chan string

	mu     sync.Mutex
	hellos map[string]bool
	vus    map[string]int // each worker's VUs in its latest metric event
	byes   map[string]*schemas.WorkerBye
	drops  map[string]uint64 // each worker's dropped iterations, summed over its events
	sent   map[string]uint64 // each worker's requests, summed over its events
	notify chan struct{}
	seq    uint64
	scales uint64
}

func newCoordinator(t *testing.T, run string) *coordinator {
	t.Helper()
	b, err := bus.Open(bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	c := &coordinator{t: t, run: run, bus: b, joins: make(chan string, 16), hellos: map[string]bool{},
		vus: map[string]int{}, byes: map[string]*schemas.WorkerBye{}, drops: map[string]uint64{}, sent: map[string]uint64{}, notify: make(chan struct{}, 1)}
	if c.ctl, err = b.Connect("coordinator"); err != nil {
		t.Fatal(err)
	}
	c.watch(run)
	return c
}

// watch follows another run of the same bus too.
func (c *coordinator) watch(run string) {
	c.t.Helper()
	subs := []error{}
	_, err := bus.Subscribe(c.ctl, schemas.Subject(run, schemas.KindJoin), func(_ string, m *schemas.WorkerHello) { c.joins <- m.WorkerID })
	subs = append(subs, err)
	_, err = bus.Subscribe(c.ctl, schemas.Subject(run, schemas.KindHello), func(_ string, m *schemas.WorkerHello) {
		c.update(func() { c.hellos[m.WorkerID] = true })
	})
	subs = append(subs, err)
	_, err = bus.Subscribe(c.ctl, schemas.AllMetrics(run), func(_ string, m *schemas.MetricEvent) {
		c.update(func() {
			c.vus[m.WorkerID] = m.VUs
			c.drops[m.WorkerID] += m.DroppedIterations
			for _, e := range m.Endpoints {
				c.sent[m.WorkerID] += e.Requests
			}
		})
	})
	subs = append(subs, err)
	_, err = bus.Subscribe(c.ctl, schemas.Subject(run, schemas.KindBye), func(_ string, m *schemas.WorkerBye) {
		c.update(func() { c.byes[m.WorkerID] = m })
	})
	subs = append(subs, err, c.ctl.Flush(context.Background()))
	if err := errors.Join(subs...); err != nil {
		c.t.Fatal(err)
	}
}

func (c *coordinator) update(f func()) {
	c.mu.Lock()
	f()
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *coordinator) waitUntil(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.After(waitLimit)
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.notify:
		case <-deadline:
			c.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (c *coordinator) join() string {
	c.t.Helper()
	select {
	case id := <-c.joins:
		return id
	case <-time.After(waitLimit):
		c.t.Fatal("no worker asked to join")
	}
	return ""
}

func (c *coordinator) publish(kind string, m any) {
	c.t.Helper()
	if err := c.ctl.Publish(schemas.Subject(c.run, kind), m); err != nil {
		c.t.Fatal(err)
	}
}

func (c *coordinator) assign(wanted int, workers []string, lost ...string) {
	c.assignAt(0, wanted, workers, lost...)
}

// assignAt publishes an assignment whose change applies to the open model's
// arrivals from effective (Unix ns) on; zero means the default lead.
func (c *coordinator) assignAt(effective int64, wanted int, workers []string, lost ...string) {
	c.seq++
	c.publish(schemas.KindAssign, &schemas.WorkerAssignment{SchemaVersion: schemas.Version, RunID: c.run,
		Seq: c.seq, AtNs: time.Now().UnixNano(), EffectiveNs: effective, Wanted: wanted, Workers: workers, Lost: lost})
}

func (c *coordinator) running() {
	now := time.Now().UnixNano()
	c.publish(schemas.KindState, &schemas.SessionState{SchemaVersion: schemas.Version, RunID: c.run,
		State: schemas.StateRunning, AtNs: now, StartedAtNs: now})
}

func (c *coordinator) scale(vus int) {
	c.scales++
	now := time.Now().UnixNano()
	c.publish(schemas.KindScale, &schemas.ScaleCommand{SchemaVersion: schemas.Version, RunID: c.run,
		Seq: c.scales, AtNs: now, TargetVUs: vus})
}

func (c *coordinator) stop() {
	c.publish(schemas.KindState, &schemas.SessionState{SchemaVersion: schemas.Version, RunID: c.run,
		State: schemas.StateStopping, AtNs: time.Now().UnixNano(), GracefulStopNs: int64(5 * time.Second)})
}

// result is a Run's outcome: done closes once err is set.
type result struct {
	done chan struct{}
	err  error
}

// remoteWorker starts a remote worker for the coordinator's run.
func (c *coordinator) remoteWorker(id string, cfg Config) (*Worker, *result) {
	c.t.Helper()
	conn, err := c.bus.Connect("worker-" + id)
	if err != nil {
		c.t.Fatal(err)
	}
	cfg.RunID, cfg.WorkerID, cfg.Remote = c.run, id, true
	cfg.Spec.RunID = c.run
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 50 * time.Millisecond
	}
	cfg.Logger = quietLog
	w, err := New(cfg, conn)
	if err != nil {
		c.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &result{done: make(chan struct{})}
	go func() {
		r.err = w.Run(ctx)
		close(r.done)
	}()
	c.t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(waitLimit):
			c.t.Error("remote worker did not return")
		}
	})
	return w, r
}

var quietLog = slog.New(slog.DiscardHandler)

func runErr(t *testing.T, r *result) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(waitLimit):
		t.Fatal("Run did not return")
	}
	return nil
}

func TestRemoteWorkersSplitTheLoadAndTheSurvivorTakesOver(t *testing.T) {
	tg := newTarget(t)
	c := newCoordinator(t, "r2")
	cfg := baseConfig(task("t", 1, tg.URL+"/delay?ms=5"))
	cfg.Spec.RPSLimit = 1000
	a, aDone := c.remoteWorker("wa", cfg)
	b, bDone := c.remoteWorker("wb", cfg)
	first, second := c.join(), c.join()
	order := []string{first, second}
	c.assign(2, order)
	for _, w := range []*Worker{a, b} {
		select {
		case <-w.Ready():
		case <-time.After(waitLimit):
			t.Fatal("an admitted worker did not become ready")
		}
	}
	c.waitUntil("both hellos", func() bool { return c.hellos["wa"] && c.hellos["wb"] })
	if got := a.limiter.perSecond(); got != 500 {
		t.Errorf("each of 2 workers has a limit of %v/s, want half of 1000", got)
	}
	c.running()
	c.scale(5)
	// The first in the assignment takes the odd VU.
	c.waitUntil("3 + 2 VUs", func() bool { return c.vus[first] == 3 && c.vus[second] == 2 })

	// wa is dropped as lost: wb carries all 5, wa stops and still reports.
	c.assign(2, []string{"wb"}, "wa")
	c.waitUntil("the survivor at 5 VUs", func() bool { return c.vus["wb"] == 5 })
	if err := runErr(t, aDone); !errors.Is(err, ErrDropped) {
		t.Errorf("dropped worker's Run: %v, want ErrDropped", err)
	}
	c.waitUntil("the dropped worker's bye", func() bool { return c.byes["wa"] != nil })
	if i, n := b.Segment(); i != 0 || n != 1 {
		t.Errorf("survivor's segment %d of %d, want 0 of 1", i, n)
	}
	if got := b.limiter.perSecond(); got != 1000 {
		t.Errorf("the survivor's limit is %v/s, want all 1000", got)
	}

	c.stop()
	if err := runErr(t, bDone); err != nil {
		t.Errorf("survivor's Run: %v", err)
	}
	c.waitUntil("the survivor's bye", func() bool { return c.byes["wb"] != nil })
	c.mu.Lock()
	defer c.mu.Unlock()
	if got := c.byes["wa"].Requests + c.byes["wb"].Requests; got != uint64(tg.total()) || got == 0 {
		t.Errorf("the workers report %d requests, the target saw %d", got, tg.total())
	}
}

func TestRemoteWorkerNotNeededSaysNothing(t *testing.T) {
	c := newCoordinator(t, "r3")
	cfg := baseConfig(task("t", 1, "http://127.0.0.1:1/"))
	w, done := c.remoteWorker("extra", cfg)
	c.join()
	c.assign(1, []string{"someone-else"})
	if err := runErr(t, done); !errors.Is(err, ErrNotAdmitted) {
		t.Errorf("Run: %v, want ErrNotAdmitted", err)
	}
	select {
	case <-w.Ready():
		t.Error("a worker that was not admitted became ready")
	default:
	}

	// Without any assignment the join times out.
	cfg.JoinTimeout = 200 * time.Millisecond
	_, done = c.remoteWorker("lonely", cfg)
	c.join()
	c.running() // the run starts without it
	if err := runErr(t, done); !errors.Is(err, ErrNotAdmitted) {
		t.Errorf("Run: %v, want ErrNotAdmitted", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.hellos) != 0 || len(c.vus) != 0 || len(c.byes) != 0 {
		t.Errorf("workers not admitted published hellos %v, metrics %v, byes %v", c.hellos, c.vus, c.byes)
	}
}

func TestRemoteWorkerLeavesWhenTheCoordinatorGoesSilent(t *testing.T) {
	tg := newTarget(t)
	c := newCoordinator(t, "r4")
	cfg := baseConfig(task("t", 1, tg.URL+"/ok"))
	cfg.CoordinatorTimeout = 300 * time.Millisecond
	_, done := c.remoteWorker("w", cfg)
	c.assign(1, []string{c.join()})
	c.running()
	c.scale(2)
	c.waitUntil("2 VUs", func() bool { return c.vus["w"] == 2 })
	// No more assignments: the coordinator is gone.
	if err := runErr(t, done); !errors.Is(err, ErrCoordinatorLost) {
		t.Errorf("Run: %v, want ErrCoordinatorLost", err)
	}
	c.waitUntil("bye", func() bool { return c.byes["w"] != nil })
}

func TestServeCarriesOneRunAfterAnother(t *testing.T) {
	tg := newTarget(t)
	c := newCoordinator(t, "first")
	c.watch("second")
	conn, err := c.bus.Connect("served")
	if err != nil {
		t.Fatal(err)
	}
	outcomes := make(chan [2]any, 4)
	ctx, cancel := context.WithCancel(context.Background())
	served := &result{done: make(chan struct{})}
	srv, err := NewServer(ServeConfig{WorkerID: "sw", FlushInterval: 50 * time.Millisecond, Logger: quietLog,
		OnRun: func(run string, err error) { outcomes <- [2]any{run, err} }}, conn)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		served.err = srv.Run(ctx)
		close(served.done)
	}()
	defer func() {
		cancel()
		if err := runErr(t, served); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	spec := baseConfig(task("t", 1, tg.URL+"/ok")).Spec
	for _, run := range []string{"first", "second"} {
		c.run = run
		spec.RunID = run
		// A spec under another run's subject is not believed.
		if err := c.ctl.Publish(schemas.Subject("elsewhere", schemas.KindSpec), &spec); err != nil {
			t.Fatal(err)
		}
		// The session repeats the spec until its workers join.
		tick := time.NewTicker(100 * time.Millisecond)
		deadline := time.After(waitLimit)
		var id string
		for id == "" {
			c.publish(schemas.KindSpec, &spec)
			select {
			case id = <-c.joins:
			case <-tick.C:
			case <-deadline:
				t.Fatalf("%s: no join", run)
			}
		}
		tick.Stop()
		if id != "sw" {
			t.Fatalf("%s: join from %q", run, id)
		}
		c.assign(1, []string{id})
		c.running()
		c.scale(1)
		c.waitUntil(run+" VUs", func() bool { return c.vus[id] == 1 })
		c.stop()
		select {
		case o := <-outcomes:
			if o[0] != run || o[1] != nil {
				t.Errorf("outcome %v, want %s carried to its end", o, run)
			}
		case <-time.After(waitLimit):
			t.Fatalf("%s: Serve did not finish it", run)
		}
		c.mu.Lock()
		c.vus = map[string]int{}
		c.mu.Unlock()
	}
}
