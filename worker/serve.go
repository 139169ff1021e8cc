package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

// ServeConfig configures a Server. The zero value of each field means its default.
type ServeConfig struct {
	// WorkerID is this process's id in every run it joins; default random.
	WorkerID string
	// Name is shown in results; default the host name.
	Name string
	// Logger; default slog.Default().
	Logger *slog.Logger
	// JoinTimeout and CoordinatorTimeout: see Config.
	JoinTimeout, CoordinatorTimeout time.Duration
	// FlushInterval and Shards: see Config.
	FlushInterval time.Duration
	Shards        int
	// OnRun, when set, is told how each run this worker tried ended (nil: it
	// carried the run to its end). It is called from Run's goroutine.
	OnRun func(runID string, err error)
	// RawPath, when set, makes each run write raw request records to this
	// path with "-NAME-RUNID" inserted before the extension (RawPathFor).
	RawPath string
	// OpenFiles is the process's open-file limit (see Config).
	OpenFiles OpenFiles
}

// offerMaxAge: a run spec older than this is not acted on. A run that still
// wants workers repeats its spec every second, so a stale one only names a
// run that has started or gone.
const offerMaxAge = 2 * time.Second

// rememberedRuns bounds the run ids a Server remembers so as not to join twice.
const rememberedRuns = 256

type offer struct {
	spec *schemas.RunSpec
	at   time.Time
}

// Server makes this process a remote worker: it waits for a run's spec on
// loadforge.*.spec, asks to join, carries the share it is given, and when the
// run ends (or its coordinator goes, or it was not needed) waits for the next
// one, until its Run's ctx is done.
//
// A worker joins each run at most once: a run that dropped it or did not need
// it is not offered again.
type Server struct {
	cfg   ServeConfig
	conn  *bus.Conn
	log   *slog.Logger
	ready chan struct{}
}

// NewServer returns a server taking runs from conn. It checks the config and
// does no I/O: Run subscribes, then closes Ready.
func NewServer(cfg ServeConfig, conn *bus.Conn) (*Server, error) {
	if conn == nil {
		return nil, errors.New("worker: no bus connection")
	}
	if cfg.WorkerID == "" {
		cfg.WorkerID = randomID()
	}
	if !schemas.ValidToken(cfg.WorkerID) {
		return nil, fmt.Errorf("worker: worker id %q is not a valid subject token", cfg.WorkerID)
	}
	if cfg.Name == "" {
		cfg.Name = hostName()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{cfg: cfg, conn: conn, log: cfg.Logger.With("worker_id", cfg.WorkerID), ready: make(chan struct{})}, nil
}

// Ready is closed once Run listens for runs.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Run serves runs one after another until ctx is done. It returns nil then,
// or an error if it cannot listen for runs at all.
func (s *Server) Run(ctx context.Context) error {
	cfg, conn, log := s.cfg, s.conn, s.log

	quit := make(chan struct{})
	defer close(quit)
	offers := make(chan offer, 16)
	suffix := "." + schemas.KindSpec
	sub, err := bus.Subscribe(conn, schemas.AllSpecs(), func(subject string, m *schemas.RunSpec) {
		// The spec must belong to the run its subject names.
		if strings.TrimSuffix(strings.TrimPrefix(subject, schemas.SubjectRoot+"."), suffix) != m.RunID {
			log.Debug("dropped a spec whose run id does not match its subject", "subject", subject)
			return
		}
		select {
		case offers <- offer{spec: m, at: time.Now()}:
		case <-quit:
		default: // full: the run repeats its spec
		}
	})
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := conn.Flush(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	close(s.ready)
	log.Info("waiting for a run", "name", cfg.Name)

	tried := map[string]bool{}
	var order []string
	for {
		var o offer
		select {
		case <-ctx.Done():
			return nil
		case o = <-offers:
		}
		run := o.spec.RunID
		if tried[run] || time.Since(o.at) > offerMaxAge {
			continue
		}
		tried[run] = true
		if order = append(order, run); len(order) > rememberedRuns {
			delete(tried, order[0])
			order = order[1:]
		}
		err := serveRun(ctx, conn, cfg, o.spec, log.With("run_id", run))
		if cfg.OnRun != nil {
			cfg.OnRun(run, err)
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// serveRun joins one run and carries it.
func serveRun(ctx context.Context, conn *bus.Conn, cfg ServeConfig, spec *schemas.RunSpec, log *slog.Logger) error {
	w, err := New(Config{
		RunID: spec.RunID, WorkerID: cfg.WorkerID, Name: cfg.Name, Spec: *spec,
		FlushInterval: cfg.FlushInterval, Shards: cfg.Shards,
		Logger: cfg.Logger.With("run_id", spec.RunID), // New adds worker_id itself
		Remote: true, JoinTimeout: cfg.JoinTimeout, CoordinatorTimeout: cfg.CoordinatorTimeout,
		RawPath: remoteRawPath(cfg.RawPath, cfg.Name, spec.RunID), OpenFiles: cfg.OpenFiles,
	}, conn)
	if err != nil {
		log.Error("cannot run this spec", "err", err)
		return err
	}
	log.Info("joining a run")
	err = w.Run(ctx)
	switch {
	case err == nil:
		log.Info("run finished; waiting for the next")
	case errors.Is(err, ErrRefused):
		log.Info("refused the run; waiting for the next")
	case errors.Is(err, ErrNotAdmitted):
		log.Info("the run did not need this worker; waiting for the next")
	case ctx.Err() != nil:
		log.Info("stopped")
	default:
		log.Warn("left the run; waiting for the next", "reason", err)
	}
	return err
}
