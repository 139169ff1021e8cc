// Package worker runs virtual users: a LIFO pool of goroutines, each running the
// scenario against real HTTP endpoints, recording into sharded histograms, and
// publishing one metric event per interval on the bus.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/http1"
	"github.com/loadforge/loadforge/schemas"
)

// Config configures a Worker. The zero value of each field means its default.
type Config struct {
	RunID    string
	WorkerID string // default: a random id
	Name     string // default: host name
	Spec     schemas.RunSpec
	// FlushInterval between metric events; default and maximum 250 ms. It must divide one second.
	FlushInterval time.Duration
	// Shards of histograms and counters; default 4 × GOMAXPROCS.
	Shards int
	// Client overrides the tuned HTTP client (tests only). It must not have a
	// cookie jar: requests share their prepared header maps. With it, the
	// http_client choice auto means net/http: every request goes through it.
	Client *http.Client
	// Logger; default slog.Default().
	Logger *slog.Logger

	// Remote makes the worker one of a coordinator's remote workers: it asks
	// to join on loadforge.<run>.join, carries only the share that the
	// session's assignments give it, and leaves the run when an assignment
	// drops it or when assignments stop coming (the coordinator is gone).
	// Without it the worker carries the whole load, as the session's own
	// local worker does.
	Remote bool
	// JoinTimeout bounds a remote worker's wait to be admitted; default 5 s.
	JoinTimeout time.Duration
	// CoordinatorTimeout: how long a remote worker carries on without hearing
	// an assignment (the coordinator repeats it every second); default 5 s.
	CoordinatorTimeout time.Duration
	// RawPath, when set, is the file (.csv or .jsonl, .gz to compress) that
	// gets one record per request this worker counts (see raw.go).
	RawPath string
	// OpenFiles is the process's open-file limit; a remote worker whose
	// share of the run's VUs cannot get its connections under it refuses
	// the run at join (fdcheck.go). Zero: not checked.
	OpenFiles OpenFiles
}

const maxFlushInterval = 250 * time.Millisecond

// Worker is one process's pool of VUs in a run.
type Worker struct {
	cfg  Config
	conn *bus.Conn
	log  *slog.Logger

	notSent  notSentCounts  // requests the generator could not attempt (exhaustion.go)
	fastDial http1.DialFunc // how the fast client dials; nil: the default dialer

	// The scenario, prepared once.
	endpoints   []endpoint
	setup       []*requestTemplate
	teardown    []*requestTemplate
	tasks       [][]*requestTemplate
	cumWeights  []int // running sum of the task weights
	totalWeight int
	thinkMin    time.Duration
	thinkMax    time.Duration
	timeout     time.Duration
	limiter     *requestLimiter // nil: no cap
	client      *http.Client
	fast        *http1.Client
	h2          *h2Client
	// ahead is one fast-client request per address the tasks send to: what
	// an open model's VU dials before it takes its first arrival.
	ahead []*http1.Request
	// scn is the scenario machinery (nil: the spec uses none; see scenario.go).
	scn *scenarioRun
	scenarioCounters
	// startAtRequest: an iteration starts when its first request does
	// (see runIteration).
	startAtRequest bool

	shards []*shard
	agg    aggregator
	raw    *rawWriter // nil: no raw records; set before the first VU starts

	// open is the open model, once a scale command brought an arrival rate.
	open atomic.Pointer[openModel]
	// timersOnly makes the open model's dispatcher wait on Go timers alone
	// (tests in fake time, where a thread's sleep would not move the clock).
	timersOnly bool

	pool  pool
	vuWG  sync.WaitGroup
	alive atomic.Int64 // VU goroutines that have not exited
	// stopCtx is cancelled when in-flight requests must be cut off. It is set
	// before the first VU starts and not changed after.
	stopCtx context.Context

	started atomic.Bool
	ready   chan struct{}
	quit    chan struct{} // closed when Run returns: bus callbacks stop forwarding
	stateCh chan *schemas.SessionState
	scaleCh chan *schemas.ScaleCommand
	share   share // the part of the load this worker carries
}

// New returns a worker that takes commands from and publishes metrics on conn.
func New(cfg Config, conn *bus.Conn) (*Worker, error) {
	if conn == nil {
		return nil, errors.New("worker: no bus connection")
	}
	if !schemas.ValidToken(cfg.RunID) {
		return nil, fmt.Errorf("worker: run id %q is not a valid subject token", cfg.RunID)
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = randomID()
	} else if !schemas.ValidToken(cfg.WorkerID) {
		return nil, fmt.Errorf("worker: worker id %q is not a valid subject token", cfg.WorkerID)
	}
	if cfg.Name == "" {
		cfg.Name = hostName()
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = maxFlushInterval
	}
	if fi := cfg.FlushInterval; fi < 0 || fi > maxFlushInterval || time.Second%fi != 0 {
		return nil, fmt.Errorf("worker: flush interval %v must be positive, at most %v and divide 1s", fi, maxFlushInterval)
	}
	if cfg.Shards == 0 {
		cfg.Shards = 4 * runtime.GOMAXPROCS(0)
	}
	if cfg.Shards < 0 {
		return nil, fmt.Errorf("worker: shards %d is negative", cfg.Shards)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = DefaultJoinTimeout
	}
	if cfg.CoordinatorTimeout <= 0 {
		cfg.CoordinatorTimeout = DefaultCoordinatorTimeout
	}
	w := &Worker{
		cfg:     cfg,
		conn:    conn,
		log:     cfg.Logger.With("worker_id", cfg.WorkerID),
		client:  cfg.Client,
		stopCtx: context.Background(),
		ready:   make(chan struct{}),
		quit:    make(chan struct{}),
		stateCh: make(chan *schemas.SessionState, 8),
		scaleCh: make(chan *schemas.ScaleCommand, 8),
	}
	if err := w.compileSpec(cfg.Spec); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	choice := cfg.Spec.HTTPClient
	if cfg.Client != nil && (choice == "" || choice == schemas.HTTPClientAuto) {
		// A client given in the config is meant to take the requests.
		choice = schemas.HTTPClientNetHTTP
	}
	tlsConfig, err := targetTLSConfig(cfg.Spec.TLS)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if err := w.prepareClients(choice, cfg.Spec.HTTPVersion, tlsConfig, cfg.Spec.NoKeepAlive); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if w.client == nil {
		w.client = newHTTPClient(tlsConfig, cfg.Spec.NoKeepAlive)
	}
	w.shards = newShards(cfg.Shards, len(w.endpoints))
	w.share.init(cfg.Remote)
	return w, nil
}

// compileSpec validates the run spec and prepares its requests.
func (w *Worker) compileSpec(spec schemas.RunSpec) error {
	sc := spec.Scenario
	if len(sc.Tasks) == 0 {
		return errors.New("scenario has no tasks")
	}
	byName := map[string]int{}
	compile := func(where string, reqs []schemas.Request) ([]*requestTemplate, error) {
		out := make([]*requestTemplate, 0, len(reqs))
		for i, r := range reqs {
			t, err := compileRequest(flattenRequest(r))
			if err != nil {
				return nil, fmt.Errorf("%s request %d: %w", where, i+1, err)
			}
			name := r.Name
			if name == "" {
				name = t.tmpl.Method + " " + r.URL
			}
			idx, ok := byName[name]
			if !ok {
				// An endpoint is its name; the first request of that name gives its method and URL.
				idx = len(w.endpoints)
				byName[name] = idx
				w.endpoints = append(w.endpoints, endpoint{name: name, method: t.tmpl.Method, url: r.URL})
			}
			t.endpoint = idx
			out = append(out, t)
		}
		return out, nil
	}
	var err error
	if w.setup, err = compile("setup", sc.Setup); err != nil {
		return err
	}
	for i, task := range sc.Tasks {
		where := fmt.Sprintf("task %d (%q)", i+1, task.Name)
		if task.Weight < 0 {
			return fmt.Errorf("%s: weight %d is negative", where, task.Weight)
		}
		if task.Weight > 0 && len(task.Requests) == 0 {
			return fmt.Errorf("%s: no requests", where)
		}
		reqs, err := compile(where, task.Requests)
		if err != nil {
			return err
		}
		if w.totalWeight > math.MaxInt32-task.Weight {
			return fmt.Errorf("%s: total weight too large", where)
		}
		w.totalWeight += task.Weight
		w.tasks = append(w.tasks, reqs)
		w.cumWeights = append(w.cumWeights, w.totalWeight)
	}
	if w.totalWeight <= 0 {
		return errors.New("scenario tasks have no positive weight")
	}
	if w.teardown, err = compile("teardown", sc.Teardown); err != nil {
		return err
	}
	if err := w.compileScenario(spec); err != nil {
		return err
	}
	if spec.ThinkMinNs < 0 || spec.ThinkMaxNs < 0 {
		return fmt.Errorf("think time %v..%v is negative", time.Duration(spec.ThinkMinNs), time.Duration(spec.ThinkMaxNs))
	}
	// A maximum below the minimum (usually an unset maximum) means a fixed think time.
	w.thinkMin = time.Duration(spec.ThinkMinNs)
	w.thinkMax = max(w.thinkMin, time.Duration(spec.ThinkMaxNs))
	switch {
	case spec.TimeoutNs < 0:
		return fmt.Errorf("timeout %v is negative", time.Duration(spec.TimeoutNs))
	case spec.TimeoutNs == 0:
		w.timeout = schemas.DefaultTimeout
	default:
		w.timeout = time.Duration(spec.TimeoutNs)
	}
	switch rl := spec.RPSLimit; {
	case math.IsNaN(rl) || rl < 0 || math.IsInf(rl, 0):
		return fmt.Errorf("rps limit %v must be a non-negative number", rl)
	case rl > 0:
		w.limiter = newRequestLimiter(rl)
	}
	w.startAtRequest = startsAtRequest(w.tasks, w.limiter)
	return nil
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

func hostName() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "worker"
}

// ID is the worker's id on the bus.
func (w *Worker) ID() string { return w.cfg.WorkerID }

// VUs is the number of VU goroutines running, including those finishing their
// last iteration or their teardown after being told to stop.
func (w *Worker) VUs() int { return int(w.alive.Load()) }

// Ready is closed once the worker is subscribed to state and scale and has said hello.
func (w *Worker) Ready() <-chan struct{} { return w.ready }

// runState is what the Run loop alone reads and writes.
type runState struct {
	iv        intervals
	seq       uint64 // of the last metric event published
	requests  uint64 // totals over the run, for the bye
	errors    uint64
	scaleSeq  uint64 // of the last scale command applied
	scaled    bool   // whether any scale command has been applied
	stopping  bool
	target    int           // the run's total target VUs, from the last scale command
	deadline  *time.Timer   // end of the graceful stop
	exited    chan struct{} // closed once every VU has exited, after stopping began
	cancelled bool          // in-flight requests have been cut off
}

// Run serves the run until the session's stopping state has been carried out
// (final event and bye published) or ctx is done (hard stop, final event and bye,
// then return). It returns only after every VU goroutine has exited. It returns
// nil once a stopping state has been carried out, and ctx.Err() when ctx ended
// the run first (the final event and bye are still published, best effort).
func (w *Worker) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("worker: Run called twice")
	}
	defer close(w.quit)
	defer w.client.CloseIdleConnections()

	stopCtx, cancelInFlight := context.WithCancel(ctx)
	defer cancelInFlight()
	w.stopCtx = stopCtx
	// net/http requests watch stopCtx themselves; the fast client's are cut off here.
	defer context.AfterFunc(stopCtx, w.fast.CutOff)()
	// The one way out, whichever return is taken: nothing this Run started
	// outlives it.
	defer w.shutdown(cancelInFlight)

	// Bus callbacks only forward to the loop; they never block past Run's end.
	stateSub, err := bus.Subscribe(w.conn, schemas.Subject(w.cfg.RunID, schemas.KindState),
		func(_ string, m *schemas.SessionState) {
			select {
			case w.stateCh <- m:
			case <-w.quit:
			}
		})
	if err != nil {
		return fmt.Errorf("worker %s: %w", w.cfg.WorkerID, err)
	}
	defer func() { _ = stateSub.Unsubscribe() }()
	scaleSub, err := bus.Subscribe(w.conn, schemas.Subject(w.cfg.RunID, schemas.KindScale),
		func(_ string, m *schemas.ScaleCommand) {
			select {
			case w.scaleCh <- m:
			case <-w.quit:
			}
		})
	if err != nil {
		return fmt.Errorf("worker %s: %w", w.cfg.WorkerID, err)
	}
	defer func() { _ = scaleSub.Unsubscribe() }()
	var remote *remoteState
	if w.cfg.Remote {
		if remote, err = w.subscribeAssign(); err != nil {
			return fmt.Errorf("worker %s: %w", w.cfg.WorkerID, err)
		}
		defer remote.close()
	}
	// The server must hold every subscription before anyone learns we are here.
	if err := w.conn.Flush(ctx); err != nil {
		return fmt.Errorf("worker %s: subscribe: %w", w.cfg.WorkerID, err)
	}

	defer w.closeRaw()
	if remote == nil {
		if err := w.openRaw(); err != nil {
			return err
		}
	}
	if remote != nil {
		if err := w.refuseShortOfFDs(ctx); err != nil {
			return err
		}
		// A remote worker says hello only once admitted.
		if err := w.publishHello(schemas.KindJoin); err != nil {
			return err
		}
	} else {
		if err := w.publishHello(schemas.KindHello); err != nil {
			return err
		}
		close(w.ready)
	}

	st := &runState{iv: intervals{fi: int64(w.cfg.FlushInterval)}}
	heartbeat := time.NewTicker(time.Second)
	defer heartbeat.Stop()
	flush := time.NewTimer(time.Hour)
	flush.Stop()
	var flushC <-chan time.Time // nil until t0 is known
	defer flush.Stop()
	defer func() {
		if st.deadline != nil {
			st.deadline.Stop()
		}
	}()
	setT0 := func(t0 int64) {
		if st.iv.known {
			return
		}
		now := time.Now().UnixNano()
		if t0 <= 0 {
			t0 = now
		}
		st.iv.begin(t0, now)
		flush.Reset(time.Until(time.Unix(0, st.iv.nextEnd())))
		flushC = flush.C
	}
	var deadlineC <-chan time.Time // nil until a graceful stop begins
	cancelNow := func() {
		if !st.cancelled {
			st.cancelled = true
			cancelInFlight()
		}
	}
	beginStop := func(grace time.Duration, hard bool) {
		if !st.stopping {
			st.stopping = true
			w.pool.resize(0, nil)
			w.stopOpen()
			st.exited = make(chan struct{})
			go func() {
				w.vuWG.Wait()
				close(st.exited)
			}()
		}
		switch {
		case hard || grace <= 0:
			cancelNow()
		case st.deadline == nil:
			st.deadline = time.NewTimer(grace)
			deadlineC = st.deadline.C
		}
	}
	done := ctx.Done()
	var exited <-chan struct{}
	// applyScale applies a scale command to the run (a remote worker's only
	// once admitted: before that it holds the latest, as it has no share).
	var pending *schemas.ScaleCommand
	applyScale := func(m *schemas.ScaleCommand) {
		if st.stopping || (st.scaled && m.Seq <= st.scaleSeq) {
			return // stale, or the run is stopping
		}
		if !remote.isAdmitted() {
			if pending == nil || m.Seq > pending.Seq {
				pending = m
			}
			return
		}
		st.scaled, st.scaleSeq = true, m.Seq
		setT0(m.AtNs - m.ElapsedNs)
		if w.followPattern(m) {
			return // an open model: the dispatcher runs the pattern
		}
		// The end of the pattern is carried out by the session's stopping
		// state, which brings the graceful stop with it.
		if !m.Done {
			st.target = m.TargetVUs
			w.pool.resize(w.localTarget(st.target), w.startVU)
		}
	}
	// rescale applies the share to the run's target (after a scale command or
	// a new assignment).
	rescale := func() {
		if st.scaled && !st.stopping {
			w.pool.resize(w.localTarget(st.target), w.startVU)
		}
	}
	// leave ends a remote worker's part in the run at once.
	var leaveErr error
	leave := func(err error) {
		if leaveErr == nil {
			leaveErr = err
		}
		beginStop(0, true)
		exited = st.exited
	}

	for {
		select {
		case <-done:
			done = nil
			beginStop(0, true)
			exited = st.exited

		case a := <-remote.assignments():
			switch remote.apply(a, w) {
			case admitted:
				w.log.Info("admitted to the run", "index", w.share.index(), "workers", w.share.count())
				if err := w.openRaw(); err != nil {
					return err
				}
				if err := w.publishHello(schemas.KindHello); err != nil {
					return err
				}
				close(w.ready)
				w.publishHeartbeat(st)
				rescale()
				if pending != nil {
					applyScale(pending)
					pending = nil
				}
			case reshared:
				w.log.Info("share changed", "index", w.share.index(), "workers", w.share.count())
				w.warnShortOfFDs()
				rescale()
				w.reshareOpen(a)
			case dropped:
				w.log.Warn("dropped from the run by the coordinator; stopping")
				leave(ErrDropped)
			case refused:
				return ErrNotAdmitted
			}

		case <-remote.joinExpired():
			return ErrNotAdmitted

		case <-remote.watchdog():
			if remote.coordinatorSilent(w.cfg.CoordinatorTimeout) {
				w.log.Warn("no word from the coordinator; leaving the run", "after", w.cfg.CoordinatorTimeout)
				leave(ErrCoordinatorLost)
			}

		case m := <-w.stateCh:
			if !remote.isAdmitted() {
				// Not (yet) one of the run's workers: it has nothing to stop, and
				// a final event or bye would make the collector count it in. The
				// run may start just before our admission arrives.
				switch m.State {
				case schemas.StateStarting:
				case schemas.StateRunning:
					setT0(m.StartedAtNs)
				default:
					return ErrNotAdmitted
				}
				continue
			}
			switch m.State {
			case schemas.StateRunning:
				setT0(m.StartedAtNs)
			case schemas.StateStopping:
				if m.StartedAtNs > 0 {
					setT0(m.StartedAtNs)
				}
				beginStop(time.Duration(m.GracefulStopNs), m.Hard)
				exited = st.exited
			case schemas.StateCompleted, schemas.StateInterrupted, schemas.StateAborted:
				// The run is over without our stopping having been seen: stop at once.
				beginStop(0, true)
				exited = st.exited
			}

		case m := <-w.scaleCh:
			applyScale(m)

		case <-flushC:
			start, end := st.iv.tick(time.Now().UnixNano())
			if remote.isAdmitted() {
				w.publishEvent(st, start, end, false)
			}
			flush.Reset(time.Until(time.Unix(0, st.iv.nextEnd())))

		case <-deadlineC:
			deadlineC = nil
			cancelNow()

		case <-heartbeat.C:
			if remote.isAdmitted() {
				w.publishHeartbeat(st)
			}

		case <-exited:
			if !remote.isAdmitted() {
				return ctx.Err() // never one of the run's workers: nothing to report
			}
			w.closeRaw() // every VU has exited: the file is complete before the bye
			w.finish(st)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return leaveErr
		}
	}
}

func (w *Worker) publishHello(kind string) error {
	hello := &schemas.WorkerHello{
		SchemaVersion: schemas.Version, RunID: w.cfg.RunID, WorkerID: w.cfg.WorkerID,
		Name: w.cfg.Name, Host: hostName(), PID: os.Getpid(), AtNs: time.Now().UnixNano(),
	}
	if err := w.conn.Publish(schemas.Subject(w.cfg.RunID, kind), hello); err != nil {
		return fmt.Errorf("worker %s: %s: %w", w.cfg.WorkerID, kind, err)
	}
	return nil
}

func (w *Worker) publishHeartbeat(st *runState) {
	hb := &schemas.WorkerHeartbeat{
		SchemaVersion: schemas.Version, RunID: w.cfg.RunID, WorkerID: w.cfg.WorkerID,
		AtNs: time.Now().UnixNano(), VUs: w.VUs(), LastSeq: st.seq,
	}
	if err := w.conn.Publish(schemas.Subject(w.cfg.RunID, schemas.KindHeartbeat), hb); err != nil {
		w.log.Warn("heartbeat not published", "err", err)
	}
}

// localTarget is this worker's share of the run's target: all of it when the
// worker is alone, else its segment's part (see share).
func (w *Worker) localTarget(total int) int {
	return w.share.of(max(0, total))
}

// publishEvent sends everything recorded since the last event as the event for
// (start, end].
func (w *Worker) publishEvent(st *runState, start, end int64, final bool) {
	eps, iterations := w.agg.collect(w.shards, w.endpoints)
	eps = w.collectChecks(eps)
	ev := &schemas.MetricEvent{
		SchemaVersion: schemas.Version,
		RunID:         w.cfg.RunID,
		WorkerID:      w.cfg.WorkerID,
		Seq:           st.seq + 1,
		StartNs:       start,
		EndNs:         end,
		VUs:           w.VUs(),
		Iterations:    iterations,
		Final:         final,
		Endpoints:     eps,
		Done:          w.workDone(),
		NotSent:       w.notSent.take(),
	}
	if ev.Endpoints == nil {
		ev.Endpoints = []schemas.EndpointMetrics{}
	}
	w.fillOpen(ev)
	ev.IterationDurationUs = w.agg.iterationDurations(w.shards)
	if err := w.conn.Publish(schemas.MetricsSubject(w.cfg.RunID, w.cfg.WorkerID), ev); err != nil {
		// The connection is gone; keep the sequence gapless, and the bye's
		// totals to what did go out.
		w.log.Error("metric event not published", "seq", ev.Seq, "err", err)
		return
	}
	st.seq = ev.Seq
	for _, e := range eps {
		st.requests += e.Requests
		st.errors += e.Errors
	}
}

// shutdown is Run's single exit path: it stops the pool and the open
// model's dispatcher (which closes its timer), cuts off what is still in
// flight, and waits for every VU and the dispatcher to exit. After a
// graceful stop all of them have exited already and it returns at once.
func (w *Worker) shutdown(cancelInFlight context.CancelFunc) {
	w.pool.resize(0, nil)
	w.stopOpen()
	cancelInFlight()
	w.vuWG.Wait()
}

// finish publishes the final event and the bye, and waits for the bus to take them.
func (w *Worker) finish(st *runState) {
	start, end := st.iv.final(time.Now().UnixNano())
	w.publishEvent(st, start, end, true)
	bye := &schemas.WorkerBye{
		SchemaVersion: schemas.Version, RunID: w.cfg.RunID, WorkerID: w.cfg.WorkerID,
		AtNs: time.Now().UnixNano(), LastSeq: st.seq, Requests: st.requests, Errors: st.errors,
	}
	if err := w.conn.Publish(schemas.Subject(w.cfg.RunID, schemas.KindBye), bye); err != nil {
		w.log.Error("bye not published", "err", err)
	}
	if !w.conn.Connected() {
		// The messages wait in the reconnect buffer; waiting here would only
		// keep a remote worker from its next run.
		w.log.Warn("bus disconnected; the final event and bye go out on reconnect")
		return
	}
	flushCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.conn.Flush(flushCtx); err != nil {
		w.log.Warn("bus flush after bye", "err", err)
	}
}

// intervals places metric events on boundaries t0 + k·fi, so that no interval
// straddles a second of the run and boundaries never drift.
type intervals struct {
	fi      int64
	t0      int64
	known   bool
	lastEnd int64 // end of the last interval reported: start of the current one
}

// begin fixes t0; the current interval is the one holding now (or the first,
// when now is before t0).
func (iv *intervals) begin(t0, now int64) {
	iv.t0, iv.known = t0, true
	iv.lastEnd = iv.floor(now)
}

// nextEnd is the end of the current interval.
func (iv *intervals) nextEnd() int64 { return iv.lastEnd + iv.fi }

// floor is the last boundary at or before now (t0 if now is earlier).
func (iv *intervals) floor(now int64) int64 {
	if now <= iv.t0 {
		return iv.t0
	}
	return iv.t0 + (now-iv.t0)/iv.fi*iv.fi
}

// tick closes the current interval at now. A tick late by more than an interval
// closes the last boundary passed: what was recorded meanwhile goes into that
// one interval, and the intervals skipped are not reported.
func (iv *intervals) tick(now int64) (start, end int64) {
	end = max(iv.nextEnd(), iv.floor(now))
	start = max(iv.lastEnd, end-iv.fi)
	iv.lastEnd = end
	return start, end
}

// final closes the interval holding now, whose end may lie ahead: the last
// requests count in the interval in which they completed.
func (iv *intervals) final(now int64) (start, end int64) {
	if !iv.known {
		return now, now
	}
	end = max(iv.nextEnd(), iv.floor(now)+iv.fi)
	start = max(iv.lastEnd, end-iv.fi)
	iv.lastEnd = end
	return start, end
}
