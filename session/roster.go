package session

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

// The roster decides who carries a run with remote workers, and it alone
// decides that a worker is lost:
//
//   - While it recruits it publishes the run spec every second on
//     loadforge.<run>.spec; idle workers answer on loadforge.<run>.join.
//   - It admits workers in the order they join, up to the number wanted, and
//     says so in a WorkerAssignment on loadforge.<run>.assign: the admitted
//     workers in segment order (worker i of n carries segment i of n).
//   - It repeats the assignment every second: it is the coordinator's
//     heartbeat, and a worker that hears none for a few seconds leaves.
//   - A worker that misses three heartbeats (nothing for 3 s) is lost: the
//     roster drops it from the assignment and lists it under lost, and the
//     others take over its share at once. The collector follows the
//     assignment; it keeps what the lost worker reported.
//   - Before the run starts a lost worker's place is open again; once it has
//     started, nobody is admitted any more.

// Defaults of rosterConfig.
const (
	// defaultHeartbeatTimeout is three missed heartbeats of one second.
	defaultHeartbeatTimeout = 3 * time.Second
	defaultAnnounceEvery    = time.Second
	// defaultCheckEvery is how often liveness is checked: a small part of the timeout.
	defaultCheckEvery = 100 * time.Millisecond
)

type rosterConfig struct {
	RunID  string
	Spec   schemas.RunSpec
	Wanted int
	// HeartbeatTimeout: a worker silent this long is lost.
	HeartbeatTimeout time.Duration
	// AnnounceEvery: how often the spec (while recruiting) and the assignment repeat.
	AnnounceEvery time.Duration
	CheckEvery    time.Duration
	Logger        *slog.Logger
	// Note tells the person at the terminal what happens to the workers.
	Note func(string)
}

type member struct {
	id, name, host string
	hello, bye     bool
	lastSeen       time.Time
}

type rosterMsg struct {
	subject string
	body    any
}

type roster struct {
	cfg  rosterConfig
	conn *bus.Conn
	log  *slog.Logger

	inbox chan rosterMsg
	quit  chan struct{}

	ready   chan struct{} // closed once Wanted workers are admitted and have said hello
	refused chan error    // a worker refused the run while it recruited (buffered: the first)
	allLost chan struct{} // closed when the run has started and every worker is lost

	mu   sync.Mutex
	came []string // "id (name on host)" of the admitted workers, for the timeout error

	// Owned by Run.
	members []*member // admitted and not lost, in segment order
	lost    []string
	seq     uint64
	// effectiveNs is when the latest change applies to an open model's arrivals.
	effectiveNs int64
	started     bool
	// malformed counts what the roster dropped: foreign or meaningless messages.
	// Atomic: tests read it while the roster runs.
	malformed atomic.Int64
}

func newRoster(cfg rosterConfig, conn *bus.Conn) *roster {
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = defaultHeartbeatTimeout
	}
	if cfg.AnnounceEvery <= 0 {
		cfg.AnnounceEvery = defaultAnnounceEvery
	}
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = defaultCheckEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Note == nil {
		cfg.Note = func(string) {}
	}
	// Each worker checks its share of the peak against its own limits.
	cfg.Spec.Workers = cfg.Wanted
	return &roster{
		cfg: cfg, conn: conn, log: cfg.Logger.With("stage", "roster"),
		inbox: make(chan rosterMsg, 256), quit: make(chan struct{}),
		ready: make(chan struct{}), allLost: make(chan struct{}), refused: make(chan error, 1),
	}
}

// cameSoFar lists the workers admitted so far.
func (r *roster) cameSoFar() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.came)
}

// start tells the roster that the run has started: nobody is admitted any more.
func (r *roster) start() {
	select {
	case r.inbox <- rosterMsg{body: startMsg{}}:
	case <-r.quit:
	}
}

type startMsg struct{}

func (r *roster) push(subject string, body any) {
	select {
	case r.inbox <- rosterMsg{subject, body}:
	case <-r.quit:
	}
}

// Run recruits and watches the workers until ctx is done.
func (r *roster) Run(ctx context.Context) error {
	defer close(r.quit)
	run := r.cfg.RunID
	joinSub, err := bus.Subscribe(r.conn, schemas.Subject(run, schemas.KindJoin),
		func(subject string, m *schemas.WorkerHello) { r.push(subject, m) })
	if err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	defer func() { _ = joinSub.Unsubscribe() }()
	helloSubj, heartbeatSubj, byeSubj := schemas.Subject(run, schemas.KindHello),
		schemas.Subject(run, schemas.KindHeartbeat), schemas.Subject(run, schemas.KindBye)
	// One subscription keeps each worker's hello, heartbeats and bye in order.
	workerSub, err := r.conn.SubscribeRaw(schemas.AllWorker(run), func(subject string, data []byte) {
		var m schemas.Versioned
		switch subject {
		case helloSubj:
			m = new(schemas.WorkerHello)
		case heartbeatSubj:
			m = new(schemas.WorkerHeartbeat)
		case byeSubj:
			m = new(schemas.WorkerBye)
		default:
			r.push(subject, nil)
			return
		}
		if schemas.Decode(data, m) != nil {
			m = nil
		}
		r.push(subject, m)
	})
	if err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	defer func() { _ = workerSub.Unsubscribe() }()
	if err := r.conn.Flush(ctx); err != nil {
		return fmt.Errorf("roster: %w", err)
	}

	announce := time.NewTicker(r.cfg.AnnounceEvery)
	defer announce.Stop()
	check := time.NewTicker(r.cfg.CheckEvery)
	defer check.Stop()
	r.announce()
	for {
		select {
		case <-ctx.Done():
			if n := r.malformed.Load(); n > 0 {
				r.log.Warn("dropped foreign or malformed worker messages", "count", n)
			}
			return nil
		case m := <-r.inbox:
			r.handle(m, time.Now())
		case <-announce.C:
			r.announce()
		case <-check.C:
			r.checkLiveness(time.Now())
		}
	}
}

func (r *roster) recruiting() bool { return !r.started && len(r.members) < r.cfg.Wanted }

// announce publishes the spec while recruiting, and the assignment once anyone is in.
func (r *roster) announce() {
	if r.recruiting() {
		if err := r.conn.Publish(schemas.Subject(r.cfg.RunID, schemas.KindSpec), &r.cfg.Spec); err != nil {
			r.log.Warn("publish spec", "err", err)
		}
	}
	if r.seq > 0 {
		r.publishAssignment()
	}
}

func (r *roster) publishAssignment() {
	a := &schemas.WorkerAssignment{
		SchemaVersion: schemas.Version, RunID: r.cfg.RunID, Seq: r.seq, AtNs: time.Now().UnixNano(),
		Wanted: r.cfg.Wanted, Workers: make([]string, len(r.members)), Lost: slices.Clone(r.lost),
		EffectiveNs: r.effectiveNs,
	}
	for i, m := range r.members {
		a.Workers[i] = m.id
	}
	if err := r.conn.Publish(schemas.Subject(r.cfg.RunID, schemas.KindAssign), a); err != nil {
		r.log.Warn("publish assignment", "err", err)
	}
}

// changed publishes a new assignment at once.
func (r *roster) changed() {
	r.seq++
	r.effectiveNs = time.Now().UnixNano() + schemas.AssignmentLeadNs
	r.publishAssignment()
	r.mu.Lock()
	r.came = r.came[:0]
	for _, m := range r.members {
		r.came = append(r.came, fmt.Sprintf("%s (%s on %s)", m.id, m.name, m.host))
	}
	r.mu.Unlock()
}

func (r *roster) member(id string) *member {
	for _, m := range r.members {
		if m.id == id {
			return m
		}
	}
	return nil
}

func (r *roster) drop(what, id string) {
	r.malformed.Add(1)
	r.log.Debug("dropped a message", "what", what, "worker_id", id)
}

func (r *roster) handle(msg rosterMsg, now time.Time) {
	switch m := msg.body.(type) {
	case startMsg:
		r.started = true
	case *schemas.WorkerHello:
		if m.RunID != r.cfg.RunID || !schemas.ValidToken(m.WorkerID) {
			r.drop("hello", m.WorkerID)
			return
		}
		if strings.HasSuffix(msg.subject, "."+schemas.KindJoin) {
			if m.Refused != "" {
				r.refuse(m)
				return
			}
			r.admit(m, now)
			return
		}
		if w := r.member(m.WorkerID); w != nil && !w.hello {
			w.hello, w.lastSeen = true, now
			r.checkReady()
		}
	case *schemas.WorkerHeartbeat:
		if m.RunID != r.cfg.RunID {
			r.drop("heartbeat", m.WorkerID)
			return
		}
		if w := r.member(m.WorkerID); w != nil {
			w.lastSeen = now
		}
	case *schemas.WorkerBye:
		if m.RunID != r.cfg.RunID {
			r.drop("bye", m.WorkerID)
			return
		}
		if w := r.member(m.WorkerID); w != nil {
			w.bye = true
		}
	default:
		r.drop("malformed", "")
	}
}

func (r *roster) admit(m *schemas.WorkerHello, now time.Time) {
	if !r.recruiting() || r.member(m.WorkerID) != nil || slices.Contains(r.lost, m.WorkerID) {
		return // full, or a repeat: the worker reads the assignment and knows
	}
	r.members = append(r.members, &member{id: m.WorkerID, name: m.Name, host: m.Host, lastSeen: now})
	r.log.Info("worker admitted", "worker_id", m.WorkerID, "name", m.Name, "host", m.Host,
		"workers", len(r.members), "wanted", r.cfg.Wanted)
	r.cfg.Note(fmt.Sprintf("worker %s (%s on %s) joined: %d of %d", m.WorkerID, m.Name, m.Host, len(r.members), r.cfg.Wanted))
	r.changed()
}

// refuse takes a worker's refusal of the run: while the run recruits it
// cannot start as planned, and the session aborts it with the worker's reason.
// Once the workers are in, a refusal comes from a worker that was not needed.
func (r *roster) refuse(m *schemas.WorkerHello) {
	if !r.recruiting() || r.member(m.WorkerID) != nil {
		return
	}
	r.log.Error("worker refused the run", "worker_id", m.WorkerID, "name", m.Name, "host", m.Host, "reason", m.Refused)
	select {
	case r.refused <- fmt.Errorf("worker %s (%s on %s) %w: %s", m.WorkerID, m.Name, m.Host, ErrWorkerRefused, m.Refused):
	default: // the first is reason enough
	}
}

func (r *roster) checkReady() {
	if len(r.members) < r.cfg.Wanted {
		return
	}
	for _, m := range r.members {
		if !m.hello {
			return
		}
	}
	select {
	case <-r.ready:
	default:
		close(r.ready)
	}
}

// checkLiveness drops every worker that missed its heartbeats.
func (r *roster) checkLiveness(now time.Time) {
	var gone []*member
	kept := r.members[:0]
	for _, m := range r.members {
		if !m.bye && now.Sub(m.lastSeen) > r.cfg.HeartbeatTimeout {
			gone = append(gone, m)
			continue
		}
		kept = append(kept, m)
	}
	if len(gone) == 0 {
		return
	}
	clear(r.members[len(kept):])
	r.members = kept
	for _, m := range gone {
		r.lost = append(r.lost, m.id)
		silent := now.Sub(m.lastSeen).Round(time.Millisecond)
		r.log.Warn("worker lost: its share moves to the others", "worker_id", m.id, "silent_for", silent,
			"workers_left", len(r.members))
		r.cfg.Note(fmt.Sprintf("worker %s (%s on %s) lost after %s without a heartbeat; %d left", m.id, m.name, m.host, silent, len(r.members)))
	}
	r.changed()
	if r.started && len(r.members) == 0 {
		select {
		case <-r.allLost:
		default:
			close(r.allLost)
		}
	}
}
