// Package session owns a run's lifecycle: it opens the bus, starts collector,
// worker and scheduler, handles SIGINT/SIGTERM (the first drains, the second
// stops at once), shows progress, prints the summary and writes the result.
package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/loadforge/loadforge/collector"
	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/internal/threshold"
	"github.com/loadforge/loadforge/scheduler"
	"github.com/loadforge/loadforge/schemas"
	"github.com/loadforge/loadforge/worker"
)

// Config is a whole run, already validated. The zero value of each field means its default.
type Config struct {
	RunID   string // default: a fresh random id
	Name    string // default: "loadforge"
	Spec    schemas.RunSpec
	Pattern pattern.Pattern
	// GracefulStop: how long in-flight iterations may finish after the end or the
	// first signal; zero means the default (30 s), negative means none.
	GracefulStop time.Duration
	Bus          bus.Config
	OutPath      string    // write the result document here when set
	PlanFile     string    // the plan file, for the result's plan field
	Load         string    // the load for people, for the result's load field
	Quiet        bool      // no live progress line
	Stdout       io.Writer // summary; default os.Stdout
	Stderr       io.Writer // live progress; default os.Stderr
	Logger       *slog.Logger
	// Signals delivers SIGINT/SIGTERM; nil means the session subscribes to the real ones.
	Signals <-chan os.Signal
	// StartTimeout bounds the wait for the stages to be ready; default 10 s.
	StartTimeout time.Duration

	// Workers is how many remote workers to wait for and spread the load
	// over (see roster.go); 0 runs the session's own local worker.
	Workers int
	// WorkersTimeout bounds the wait for the remote workers; default 1 min.
	WorkersTimeout time.Duration
	// External, when set, takes the target VUs from control commands on
	// loadforge.<run>.control instead of following Pattern.
	External *pattern.ExternalLoad

	// Thresholds go to the collector, which judges them live; one that fails
	// with abort_on_fail stops the run (state aborted).
	Thresholds []threshold.Threshold
	// Prometheus, when set (HOST:PORT), serves the run's metrics on
	// /metrics there while it runs (see package exporter).
	Prometheus string
	// RawPath, when set, is where the local worker writes one record per
	// request (.csv or .jsonl, .gz to compress).
	RawPath string
}

// DefaultWorkersTimeout is how long a run waits for its remote workers.
const DefaultWorkersTimeout = time.Minute

// ErrInterrupted is returned when a signal came before the run could start.
var ErrInterrupted = errors.New("interrupted")

// ErrWorkerRefused is returned when a remote worker refused the run before it
// started (its open-file limit cannot hold its share of the VUs): the plan
// does not fit the workers, as a plan too big for a local run is refused.
var ErrWorkerRefused = errors.New("refused the run")

// startLead is how far ahead of the running state the run's time zero lies.
const startLead = 50 * time.Millisecond

// finalizeSlack is how long past the graceful stop the session waits for the
// result before it gives up on the stages (the collector's own grace is 5 s).
const finalizeSlack = 10 * time.Second

func (cfg *Config) setDefaults() error {
	if cfg.RunID == "" {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("make run id: %w", err)
		}
		cfg.RunID = hex.EncodeToString(b[:])
	}
	if !schemas.ValidToken(cfg.RunID) {
		return fmt.Errorf("run id %q: must be one subject token (no dots, wildcards or spaces)", cfg.RunID)
	}
	if cfg.Name == "" {
		cfg.Name = "loadforge"
	}
	if cfg.GracefulStop == 0 {
		cfg.GracefulStop = schemas.DefaultGracefulStop
	}
	if cfg.GracefulStop < 0 {
		cfg.GracefulStop = 0
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if _, ok := cfg.Stderr.(*Console); !ok {
		// Progress, notes and the default logger share one console.
		cfg.Stderr = NewConsole(cfg.Stderr)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(cfg.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	cfg.Spec.SchemaVersion = schemas.Version
	cfg.Spec.RunID = cfg.RunID
	if cfg.Workers < 0 {
		return fmt.Errorf("workers %d is negative", cfg.Workers)
	}
	if cfg.WorkersTimeout <= 0 {
		cfg.WorkersTimeout = DefaultWorkersTimeout
	}
	if cfg.External != nil {
		return cfg.External.Validate()
	}
	return cfg.Pattern.Validate()
}

// Run runs the whole test and returns its result. The result's State is
// completed, interrupted (a signal came; the caller exits 130) or aborted.
// An error means the run could not be carried out (the caller exits 1).
func Run(ctx context.Context, cfg Config) (*schemas.Result, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	signals := cfg.Signals
	if signals == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		signals = ch
	}

	b, err := bus.Open(cfg.Bus)
	if err != nil {
		return nil, err
	}
	s := &session{cfg: cfg, log: cfg.Logger.With("run_id", cfg.RunID)}
	defer s.closeBus(ctx, b)
	return s.run(ctx, b, signals)
}

// busCloseTimeout bounds the bus's drain at the end of the run.
var busCloseTimeout = 5 * time.Second

// closeBus drains the bus once the run is over: its deadline starts now, not
// when the run started.
func (s *session) closeBus(ctx context.Context, b *bus.Bus) {
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), busCloseTimeout)
	defer cancel()
	if err := b.Close(closeCtx); err != nil {
		s.log.Warn("bus closed before it drained", "err", err)
	}
}

type session struct {
	cfg  Config
	log  *slog.Logger
	conn *bus.Conn
}

// stage is a started service: its Run's error arrives on done.
type stage struct {
	name string
	done chan error
}

func start(wg *sync.WaitGroup, ctx context.Context, name string, run func(context.Context) error) stage {
	st := stage{name: name, done: make(chan error, 1)}
	wg.Add(1)
	go func() {
		defer wg.Done()
		st.done <- run(ctx)
	}()
	return st
}

func (s *session) run(ctx context.Context, b *bus.Bus, signals <-chan os.Signal) (*schemas.Result, error) {
	cfg := s.cfg
	conn, err := b.Connect("loadforge-session")
	if err != nil {
		return nil, err
	}
	s.conn = conn
	if u := b.ClientURL(); u != "" && cfg.Bus.URL == "" {
		// Remote workers and taps need this; e2e tests wait for this line.
		fmt.Fprintf(cfg.Stderr, "bus listening on %s (run %s)\n", u, cfg.RunID)
	} else if cfg.Bus.URL != "" {
		fmt.Fprintf(cfg.Stderr, "bus %s (run %s)\n", cfg.Bus.URL, cfg.RunID)
	}

	results := make(chan *schemas.Result, 1)
	hellos := make(chan *schemas.WorkerHello, 16)
	progress := newProgress(cfg.Stderr, cfg.Quiet)
	if _, err := bus.Subscribe(conn, schemas.Subject(cfg.RunID, schemas.KindResult), func(_ string, r *schemas.Result) {
		select {
		case results <- r:
		default: // only the first result counts
		}
	}); err != nil {
		return nil, err
	}
	if _, err := bus.Subscribe(conn, schemas.Subject(cfg.RunID, schemas.KindHello), func(_ string, h *schemas.WorkerHello) {
		select {
		case hellos <- h:
		default:
		}
	}); err != nil {
		return nil, err
	}
	if _, err := bus.Subscribe(conn, schemas.Subject(cfg.RunID, schemas.KindSnapshot), func(_ string, sn *schemas.Snapshot) {
		progress.snapshot(sn)
	}); err != nil {
		return nil, err
	}
	workDone, doneSub, err := s.workDone(max(cfg.Workers, 1))
	if err != nil {
		return nil, err
	}
	defer func() { _ = doneSub.Unsubscribe() }()
	aborts, err := s.watchAborts(conn, progress)
	if err != nil {
		return nil, err
	}
	if err := conn.Flush(ctx); err != nil {
		return nil, fmt.Errorf("bus: %w", err)
	}

	// Stages run under their own context: the caller's ctx ending is handled
	// like a hard stop so that the result is still built and written.
	stageCtx, cancelStages := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	defer func() {
		cancelStages()
		wg.Wait()
	}()

	// Before any worker: the exporter must see every event.
	if err := s.startExporter(ctx, &wg, stageCtx, b, progress); err != nil {
		return nil, err
	}

	colConn, err := b.Connect("loadforge-collector")
	if err != nil {
		return nil, err
	}
	// The collector believes only the run's own workers: the local one, or
	// those the roster admits.
	colCfg := collector.Config{RunID: cfg.RunID, Name: cfg.Name, Logger: cfg.Logger, Thresholds: cfg.Thresholds, Roster: cfg.Workers > 0}
	localID := ""
	if cfg.Workers == 0 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("make worker id: %w", err)
		}
		localID = hex.EncodeToString(b[:])
		colCfg.Workers = []string{localID}
	}
	col, err := collector.New(colCfg, colConn)
	if err != nil {
		return nil, err
	}
	colStage := start(&wg, stageCtx, "collector", col.Run)
	if err := s.await(ctx, col.Ready(), colStage, "collector"); err != nil {
		return nil, err
	}

	var (
		wStage  stage   // the local worker (none with remote workers)
		rost    *roster // the remote workers (none with a local worker)
		allLost <-chan struct{}
	)
	if cfg.Workers > 0 {
		if rost, err = s.recruit(ctx, &wg, stageCtx, signals, progress); err != nil {
			return nil, err
		}
		allLost = rost.allLost
	} else {
		wConn, err := b.Connect("loadforge-worker")
		if err != nil {
			return nil, err
		}
		w, err := worker.New(worker.Config{RunID: cfg.RunID, WorkerID: localID, Spec: cfg.Spec, Logger: cfg.Logger.With("stage", "worker"), RawPath: cfg.RawPath}, wConn)
		if err != nil {
			return nil, err
		}
		wStage = start(&wg, stageCtx, "worker", w.Run)
		if err := s.awaitHello(ctx, hellos, wStage); err != nil {
			return nil, err
		}
	}

	schedConn, err := b.Connect("loadforge-scheduler")
	if err != nil {
		return nil, err
	}
	// t0 lies a little ahead, so that the workers hold the first command
	// when it comes: an open model's first arrivals are due at t0 itself.
	t0 := time.Now().Add(startLead)
	schedCtx, cancelSched := context.WithCancel(stageCtx)
	defer cancelSched()
	var (
		schedStage stage
		sched      *scheduler.Scheduler
	)
	if cfg.External == nil {
		if sched, err = scheduler.New(scheduler.Config{RunID: cfg.RunID, Pattern: cfg.Pattern, Start: t0}, schedConn); err != nil {
			return nil, err
		}
	} else {
		ext, err := scheduler.NewExternal(scheduler.ExternalConfig{RunID: cfg.RunID, Load: *cfg.External, Start: t0}, schedConn)
		if err != nil {
			return nil, err
		}
		// Subscribed before the run starts: no early command is missed.
		schedStage = start(&wg, schedCtx, "scheduler", ext.Run)
		if err := s.await(ctx, ext.Ready(), schedStage, "scheduler"); err != nil {
			return nil, err
		}
		subject := schemas.Subject(cfg.RunID, schemas.KindControl)
		who := controlPublishers(cfg.Bus)
		s.log.Info("external load: waiting for control commands", "subject", subject, "may_publish", who)
		progress.note(fmt.Sprintf("external load: target VUs from control commands on %s (may publish: %s)", subject, who))
		progress.awaitControl(subject, func() bool { return ext.Accepted() == 0 })
	}
	progress.begin(t0, cfg.loadDuration())
	s.log.Info("run started", "name", cfg.Name, "duration", cfg.loadDuration(), "workers", max(cfg.Workers, 1))
	if err := s.publishState(schemas.SessionState{State: schemas.StateRunning, StartedAtNs: t0.UnixNano()}); err != nil {
		return nil, err
	}
	if rost != nil {
		rost.start() // from now on a lost worker's share goes to the others
	}
	if sched != nil {
		schedStage = start(&wg, schedCtx, "scheduler", sched.Run)
	}

	stopping := schemas.SessionState{
		State: schemas.StateStopping, StartedAtNs: t0.UnixNano(),
		GracefulStopNs: int64(cfg.GracefulStop), Outcome: schemas.StateCompleted,
	}
	select {
	case err := <-schedStage.done:
		if err != nil {
			stopping.Outcome, stopping.Reason = schemas.StateAborted, "scheduler: "+err.Error()
		} else {
			stopping.Reason = "end of load pattern"
		}
	case sig := <-signals:
		stopping.Outcome, stopping.Reason = schemas.StateInterrupted, "signal "+sig.String()
		progress.note(fmt.Sprintf("%s: stopping gracefully (up to %s); send again to stop at once", sig, cfg.GracefulStop))
	case <-ctx.Done():
		stopping.Outcome, stopping.Reason, stopping.Hard = schemas.StateAborted, ctx.Err().Error(), true
	case err := <-wStage.done:
		stopping.Outcome, stopping.Reason = schemas.StateAborted, fmt.Sprintf("worker ended early: %v", err)
	case <-allLost:
		stopping.Outcome, stopping.Reason = schemas.StateAborted, "every remote worker was lost"
	case <-workDone:
		stopping.Reason = "the workers' iterations are made or their data rows ran out"
	case reason := <-aborts:
		stopping.Outcome, stopping.Reason = schemas.StateAborted, reason
		progress.note(reason + ": aborting the run (abort_on_fail)")
	case err := <-colStage.done:
		return nil, fmt.Errorf("collector ended early: %w", err)
	}
	cancelSched()
	s.log.Info("run stopping", "outcome", stopping.Outcome, "reason", stopping.Reason)
	if err := s.publishState(stopping); err != nil {
		return nil, err
	}

	res, err := s.awaitResult(ctx, results, signals, stopping, progress)
	progress.end()
	if err != nil {
		return nil, err
	}
	if err := s.publishState(schemas.SessionState{State: res.State, StartedAtNs: t0.UnixNano()}); err != nil {
		s.log.Warn("publish final state", "err", err)
	}
	cancelStages()
	res.Plan, res.Load = cfg.PlanFile, cfg.Load
	// The summary is printed whatever happens to the file: a run is never lost
	// for want of a place to write it.
	var outErr error
	if cfg.OutPath != "" {
		outErr = writeResult(cfg.OutPath, res)
	}
	printSummary(cfg.Stdout, res)
	if outErr != nil {
		return res, outErr
	}
	return res, nil
}

// awaitResult waits for the collector's result. A second signal turns the
// graceful stop into a hard one; if the result never comes the stages are
// cancelled and the run fails rather than hang.
func (s *session) awaitResult(ctx context.Context, results <-chan *schemas.Result, signals <-chan os.Signal,
	stopping schemas.SessionState, progress *progress) (*schemas.Result, error) {
	deadline := time.NewTimer(s.cfg.GracefulStop + finalizeSlack)
	defer deadline.Stop()
	ctxDone := ctx.Done()
	for {
		select {
		case r := <-results:
			return r, nil
		case sig := <-signals:
			if stopping.Hard {
				continue
			}
			progress.note(fmt.Sprintf("%s again: stopping now", sig))
			stopping.Hard = true
			stopping.Outcome = schemas.StateInterrupted
			if err := s.publishState(stopping); err != nil {
				return nil, err
			}
		case <-ctxDone:
			ctxDone = nil
			if !stopping.Hard {
				stopping.Hard = true
				if err := s.publishState(stopping); err != nil {
					return nil, err
				}
			}
		case <-deadline.C:
			return nil, errors.New("no result from the collector within the graceful stop and its grace")
		}
	}
}

func (s *session) await(ctx context.Context, ready <-chan struct{}, st stage, what string) error {
	t := time.NewTimer(s.cfg.StartTimeout)
	defer t.Stop()
	select {
	case <-ready:
		return nil
	case err := <-st.done:
		return fmt.Errorf("%s ended before it was ready: %w", what, err)
	case <-t.C:
		return fmt.Errorf("%s not ready after %s", what, s.cfg.StartTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recruit starts the roster and waits until the wanted remote workers have
// joined and said hello. On a timeout or a signal it tells the workers that
// joined that the run is off.
func (s *session) recruit(ctx context.Context, wg *sync.WaitGroup, stageCtx context.Context,
	signals <-chan os.Signal, progress *progress) (*roster, error) {
	cfg := s.cfg
	rost := newRoster(rosterConfig{RunID: cfg.RunID, Spec: cfg.Spec, Wanted: cfg.Workers,
		Logger: cfg.Logger.With("run_id", cfg.RunID), Note: progress.note}, s.conn)
	rStage := start(wg, stageCtx, "roster", rost.Run)
	progress.note(fmt.Sprintf("waiting up to %s for %d workers (run %s)", cfg.WorkersTimeout, cfg.Workers, cfg.RunID))
	t := time.NewTimer(cfg.WorkersTimeout)
	defer t.Stop()
	came := func() string {
		c := rost.cameSoFar()
		msg := fmt.Sprintf("%d of %d came", len(c), cfg.Workers)
		if len(c) > 0 {
			msg += ": " + strings.Join(c, ", ")
		}
		return msg
	}
	var err error
	select {
	case <-rost.ready:
		return rost, nil
	case e := <-rStage.done:
		return nil, fmt.Errorf("roster ended early: %v", e)
	case err = <-rost.refused:
	case <-t.C:
		err = fmt.Errorf("waited %s for %d remote workers; %s", cfg.WorkersTimeout, cfg.Workers, came())
	case sig := <-signals:
		err = fmt.Errorf("%w by %s while waiting for remote workers; %s", ErrInterrupted, sig, came())
	case <-ctx.Done():
		err = ctx.Err()
	}
	if perr := s.publishState(schemas.SessionState{State: schemas.StateAborted, Reason: err.Error()}); perr != nil {
		s.log.Warn("publish aborted state", "err", perr)
	}
	return nil, err
}

// loadDuration is the planned length of the load (0: until stopped from outside).
func (cfg *Config) loadDuration() time.Duration {
	if cfg.External != nil {
		return cfg.External.Duration
	}
	return cfg.Pattern.Duration()
}

func (s *session) awaitHello(ctx context.Context, hellos <-chan *schemas.WorkerHello, st stage) error {
	t := time.NewTimer(s.cfg.StartTimeout)
	defer t.Stop()
	select {
	case h := <-hellos:
		s.log.Debug("worker joined", "worker_id", h.WorkerID, "name", h.Name)
		return nil
	case err := <-st.done:
		return fmt.Errorf("worker ended before it joined: %w", err)
	case <-t.C:
		return fmt.Errorf("worker did not join within %s", s.cfg.StartTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *session) publishState(st schemas.SessionState) error {
	st.SchemaVersion = schemas.Version
	st.RunID = s.cfg.RunID
	st.AtNs = time.Now().UnixNano()
	if err := s.conn.Publish(schemas.Subject(s.cfg.RunID, schemas.KindState), &st); err != nil {
		return err
	}
	return s.conn.Flush(context.Background())
}
