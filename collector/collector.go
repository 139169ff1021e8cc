// Package collector merges the workers' metric events into per-second snapshots
// and the final result, and publishes both on the bus.
//
// Bus callbacks only queue what they receive; one loop in Run owns all state,
// so the aggregation needs no locks and a slow fold never stalls the bus client.
//
// Choices where the architecture leaves room:
//   - Metric events that arrive before the running state are held until it
//     comes; if it never does, the run's time zero is the earliest event start.
//   - The run ends at the latest end_ns of any event (or when the collector
//     finalises, if no event came); the last second's rps uses its real length.
//   - Once stopping was seen, the latest second with data is held back for the
//     end, so that the last snapshot (final: true) is also the run's last
//     second. If every second is out already, a final snapshot for the next,
//     empty second is published, without a timeline row.
//   - An event ending in an already published second is counted in the oldest
//     open second; its VUs are ignored there.
//   - Decodable but meaningless messages (another run's id, a bad worker id,
//     seq 0 or far ahead, an event outside the run, impossible counts) count as
//     malformed. An identical second copy of a (worker, seq) event is dropped
//     and only logged; a different one is a conflict, reported (trust.go).
//   - Only admitted workers count (Config.Workers or Config.Roster); a bye's
//     own counts are reconciled with what was received (trust.go).
//   - A worker that has not said bye with all its events in by the deadline is
//     reported lost; its received events still count.
//   - The session decides when a remote worker is lost (three missed
//     heartbeats) and says so in its assignments; the collector follows: a
//     lost worker holds back neither snapshots nor the end of the run, is
//     reported lost, and what it reported before still counts (see liveness.go).
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/threshold"
	"github.com/loadforge/loadforge/schemas"
)

// Defaults of the Config fields.
const (
	DefaultFinalizeGrace = 5 * time.Second
	DefaultSnapshotGrace = time.Second
)

// How long the collector waits for the server to confirm its subscriptions,
// and for its last messages to leave.
const flushTimeout = 5 * time.Second

// Config configures a Collector. The zero value of each field means its default.
type Config struct {
	RunID string
	Name  string // the run's name, copied into the result
	// FinalizeGrace: after stopping, how long past graceful_stop to wait for
	// workers' bye before finalising without them; default 5 s.
	FinalizeGrace time.Duration
	// SnapshotGrace: how long after a second ends to wait for laggard workers
	// before publishing its snapshot anyway; default 1 s.
	SnapshotGrace time.Duration
	// Logger receives the collector's logs; default slog.Default().
	Logger *slog.Logger
	// Thresholds are evaluated each second on the merged figures of all
	// workers; their states go out on loadforge.<run>.threshold.
	Thresholds []threshold.Threshold
	// Workers, if set, are the only workers whose messages count (the local
	// worker of a run without remote workers).
	Workers []string
	// Roster: workers count once an assignment of the session names them.
	// With neither Workers nor Roster every well-formed worker id counts
	// (tools replaying a bus).
	Roster bool
}

// Collector aggregates one run.
type Collector struct {
	cfg  Config
	conn *bus.Conn
	log  *slog.Logger

	ready chan struct{}
	subs  []*bus.Subscription

	queue inbox
	// rawMalformed counts the run's messages that did not decode.
	rawMalformed atomic.Uint64

	ran    atomic.Bool
	mu     sync.Mutex
	result *schemas.Result
}

// New returns a collector for cfg.RunID reading from and publishing on conn.
// It checks the config and does no I/O: Run subscribes, then closes Ready.
func New(cfg Config, conn *bus.Conn) (*Collector, error) {
	if !schemas.ValidToken(cfg.RunID) {
		return nil, fmt.Errorf("collector: invalid run id %q", cfg.RunID)
	}
	if conn == nil {
		return nil, errors.New("collector: no bus connection")
	}
	if cfg.FinalizeGrace <= 0 {
		cfg.FinalizeGrace = DefaultFinalizeGrace
	}
	if cfg.SnapshotGrace <= 0 {
		cfg.SnapshotGrace = DefaultSnapshotGrace
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	c := &Collector{
		cfg:   cfg,
		conn:  conn,
		log:   log.With("stage", "collector", "run_id", cfg.RunID),
		ready: make(chan struct{}),
		queue: inbox{notify: make(chan struct{}, 1)},
	}
	return c, nil
}

// Ready is closed once Run's subscriptions are in place and confirmed by the
// server: nothing published after it is missed. It stays open when Run
// fails to subscribe (Run then returns the error).
func (c *Collector) Ready() <-chan struct{} { return c.ready }

// Result is the result the collector published, once Run has returned; nil before.
func (c *Collector) Result() *schemas.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.result
}

func (c *Collector) subscribe(ctx context.Context) error {
	run := c.cfg.RunID
	// One subscription for everything of the run: the server delivers it in
	// the order it took the messages in, so a worker's hello (which the
	// session waits for before it starts the run) always comes before the
	// session's stopping. Separate subscriptions deliver on separate
	// goroutines, and a stopping seen before any hello would end an empty run.
	stateSubj := schemas.Subject(run, schemas.KindState)
	assignSubj := schemas.Subject(run, schemas.KindAssign)
	metricsPrefix := schemas.Subject(run, schemas.KindMetrics) + "."
	workerPrefix := schemas.Subject(run, "worker.")
	helloSubj := schemas.Subject(run, schemas.KindHello)
	heartbeatSubj := schemas.Subject(run, schemas.KindHeartbeat)
	byeSubj := schemas.Subject(run, schemas.KindBye)
	runSub, err := c.conn.SubscribeRaw(schemas.AllRun(run), func(subject string, data []byte) {
		var m schemas.Versioned
		switch {
		case subject == stateSubj:
			m = new(schemas.SessionState)
		case strings.HasPrefix(subject, metricsPrefix):
			m = new(schemas.MetricEvent)
		case subject == assignSubj:
			m = new(schemas.WorkerAssignment)
		case subject == helloSubj:
			m = new(schemas.WorkerHello)
		case subject == heartbeatSubj:
			m = new(schemas.WorkerHeartbeat)
		case subject == byeSubj:
			m = new(schemas.WorkerBye)
		case strings.HasPrefix(subject, workerPrefix):
			c.rawMalformed.Add(1) // an unknown worker message
			return
		default:
			return // the run's other traffic: scale, snapshots, our own result, …
		}
		if err := schemas.Decode(data, m); err != nil {
			c.rawMalformed.Add(1)
			return
		}
		c.queue.push(message{subject, m})
	})
	if err != nil {
		return fmt.Errorf("collector: %w", err)
	}
	c.subs = append(c.subs, runSub)

	ctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	if err := c.conn.Flush(ctx); err != nil {
		return fmt.Errorf("collector: confirm subscriptions: %w", err)
	}
	return nil
}

func (c *Collector) unsubscribe() {
	for _, s := range c.subs {
		_ = s.Unsubscribe() // fails only when the connection is already closed
	}
	c.subs = nil
}

// Run aggregates until the result is published (it returns nil) or ctx is done
// (it publishes what it has as the result, with state aborted, and returns ctx.Err()).
func (c *Collector) Run(ctx context.Context) error {
	if !c.ran.CompareAndSwap(false, true) {
		return errors.New("collector: Run called more than once")
	}
	defer c.unsubscribe()
	if err := c.subscribe(ctx); err != nil {
		return err
	}
	close(c.ready)
	agg := newAggregator(aggregatorConfig{
		runID:         c.cfg.RunID,
		snapshotGrace: c.cfg.SnapshotGrace,
		finalizeGrace: c.cfg.FinalizeGrace,
		log:           c.log,
		emit:          c.publishSnapshot,
		thresholds:    c.cfg.Thresholds,
		emitThreshold: c.publishThreshold,
		workers:       c.cfg.Workers,
		roster:        c.cfg.Roster,
	})

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var batch []message
	for {
		batch = c.queue.take(batch[:0])
		now := time.Now()
		for _, m := range batch {
			agg.handle(m.subject, m.body, now)
		}
		clear(batch) // let the decoded messages go
		agg.publishReady(now)
		if agg.done(now) {
			c.finish(ctx, agg, now, "")
			return nil
		}
		if wake, ok := agg.nextWake(); ok {
			timer.Reset(max(time.Until(wake), 0))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			c.finish(ctx, agg, time.Now(), schemas.StateAborted)
			return ctx.Err()
		case <-c.queue.notify:
		case <-timer.C:
		}
	}
}

// finish publishes the remaining snapshots and the result. state overrides
// the outcome announced by the session when not empty.
func (c *Collector) finish(ctx context.Context, agg *aggregator, now time.Time, state string) {
	// Take in whatever is already queued: it may complete a second or a worker.
	for _, m := range c.queue.take(nil) {
		agg.handle(m.subject, m.body, now)
	}
	res := agg.finalize(now, state)
	res.Name = c.cfg.Name
	res.MalformedMessages = c.conn.Malformed() + c.rawMalformed.Load() + agg.malformed
	// A tenth of the bus's max payload is left for the message's envelope and the session's fields.
	if err := fitResult(res, int(c.conn.NATS().MaxPayload())*9/10); err != nil {
		c.log.Error("fit the result into one message", "err", err)
	}
	if err := c.conn.Publish(schemas.Subject(c.cfg.RunID, schemas.KindResult), res); err != nil {
		c.log.Error("publish result", "err", err)
	}
	// The run may be over because ctx is done; the result should still leave.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if err := c.conn.Flush(flushCtx); err != nil {
		c.log.Error("flush result", "err", err)
	}
	lost := 0
	for _, w := range res.Workers {
		if w.Lost {
			lost++
		}
	}
	c.log.Info("result published", "state", res.State, "requests", res.Totals.Requests,
		"seconds", len(res.Timeline), "workers", len(res.Workers), "lost_workers", lost,
		"malformed", res.MalformedMessages, "duplicates", agg.duplicates)
	c.mu.Lock()
	c.result = res
	c.mu.Unlock()
}

func (c *Collector) publishSnapshot(s *schemas.Snapshot) {
	if err := c.conn.Publish(schemas.Subject(c.cfg.RunID, schemas.KindSnapshot), s); err != nil {
		c.log.Warn("publish snapshot", "seq", s.Seq, "err", err)
	}
}

func (c *Collector) publishThreshold(s *schemas.ThresholdState) {
	s.RunID = c.cfg.RunID
	if err := c.conn.Publish(schemas.Subject(c.cfg.RunID, schemas.KindThreshold), s); err != nil {
		c.log.Warn("publish threshold state", "metric", s.Metric, "expression", s.Expression, "err", err)
	}
}

// message is one decoded bus message on its way from a callback to Run.
type message struct {
	subject string
	body    any
}

// inbox is an unbounded queue from the bus callbacks to Run: a callback never
// waits for Run, so the bus client keeps reading whatever Run is doing.
type inbox struct {
	mu     sync.Mutex
	items  []message
	notify chan struct{} // capacity 1: "there is something to take"
}

func (q *inbox) push(m message) {
	q.mu.Lock()
	q.items = append(q.items, m)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// take appends everything queued to buf and empties the queue.
func (q *inbox) take(buf []message) []message {
	q.mu.Lock()
	defer q.mu.Unlock()
	buf = append(buf, q.items...)
	clear(q.items)
	q.items = q.items[:0]
	return buf
}
