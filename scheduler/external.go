package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
)

// ExternalConfig configures an External stage.
type ExternalConfig struct {
	RunID string
	Load  pattern.ExternalLoad
	// Start is the run's time zero; zero means when Run starts.
	Start time.Time
}

// External relays control commands to workers as scale commands. Only the
// session's own stages may publish on scale, so an outside program steers
// the run through this stage alone, which checks and caps what it asks.
type External struct {
	cfg       ExternalConfig
	conn      *bus.Conn
	ready     chan struct{}
	commands  chan bus.Msg
	quit      chan struct{}
	ran       atomic.Bool
	malformed atomic.Uint64
	accepted  atomic.Uint64
}

// NewExternal returns the stage. It checks the config and does no I/O: Run
// subscribes to the control subject, then closes Ready.
func NewExternal(cfg ExternalConfig, conn *bus.Conn) (*External, error) {
	if err := cfg.Load.Validate(); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if !schemas.ValidToken(cfg.RunID) {
		return nil, fmt.Errorf("scheduler: run id %q must be one subject token", cfg.RunID)
	}
	if conn == nil {
		return nil, errors.New("scheduler: no bus connection")
	}
	return &External{cfg: cfg, conn: conn, ready: make(chan struct{}),
		commands: make(chan bus.Msg, 256), quit: make(chan struct{})}, nil
}

// Ready is closed once Run's control subscription is in place: commands sent
// after it are applied.
func (e *External) Ready() <-chan struct{} { return e.ready }

// Accepted is how many control commands were applied so far.
func (e *External) Accepted() uint64 { return e.accepted.Load() }

// Malformed is how many control messages were refused.
func (e *External) Malformed() uint64 { return e.malformed.Load() }

// Run publishes the initial target, then one scale command per accepted
// control command, until a command says done or the duration is over (it
// then publishes a scale command with done and returns nil) or ctx is done
// (it returns ctx.Err()).
func (e *External) Run(ctx context.Context) error {
	if !e.ran.CompareAndSwap(false, true) {
		return errors.New("scheduler: Run called twice")
	}
	defer close(e.quit)
	sub, err := e.conn.SubscribeMsgs(schemas.Subject(e.cfg.RunID, schemas.KindControl), func(m bus.Msg) {
		select {
		case e.commands <- m:
		case <-e.quit:
		}
	})
	if err != nil {
		return fmt.Errorf("scheduler: subscribe to control commands: %w", err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	flushCtx, cancel := context.WithTimeout(ctx, flushTimeout)
	err = e.conn.Flush(flushCtx)
	cancel()
	if err != nil {
		return fmt.Errorf("scheduler: subscribe to control commands: %w", err)
	}
	close(e.ready)
	t0 := e.cfg.Start
	if t0.IsZero() {
		t0 = time.Now()
	}
	subject := schemas.Subject(e.cfg.RunID, schemas.KindScale)
	var seq uint64
	target := e.cfg.Load.InitialVUs
	publish := func(at time.Time, done bool) error {
		seq++
		return e.conn.Publish(subject, &schemas.ScaleCommand{
			SchemaVersion: schemas.Version, RunID: e.cfg.RunID, Seq: seq,
			AtNs: at.UnixNano(), ElapsedNs: int64(max(at.Sub(t0), 0)), TargetVUs: target, Done: done,
		})
	}
	finish := func(at time.Time) error {
		if err := publish(at, true); err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
		flushCtx, cancel := context.WithTimeout(ctx, flushTimeout)
		defer cancel()
		if err := e.conn.Flush(flushCtx); err != nil {
			return fmt.Errorf("scheduler: flush scale commands: %w", err)
		}
		return nil
	}
	if err := publish(t0, false); err != nil {
		return fmt.Errorf("scheduler: %w", err)
	}
	var end <-chan time.Time
	if d := e.cfg.Load.Duration; d > 0 {
		timer := time.NewTimer(time.Until(t0.Add(d)))
		defer timer.Stop()
		end = timer.C
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end:
			return finish(t0.Add(e.cfg.Load.Duration))
		case m := <-e.commands:
			cmd, isJSON, err := decodeControl(m.Data)
			if err == nil && cmd.RunID != "" && cmd.RunID != e.cfg.RunID {
				err = fmt.Errorf("run_id %q is not this run's (%s)", cmd.RunID, e.cfg.RunID)
			}
			if err == nil && cmd.TargetVUs < 0 {
				err = fmt.Errorf("target_vus %d is negative", cmd.TargetVUs)
			}
			if err != nil {
				e.malformed.Add(1)
				e.reply(m, isJSON, schemas.ControlReply{Error: err.Error()})
				continue
			}
			e.accepted.Add(1)
			if cmd.Done {
				err := finish(time.Now())
				e.reply(m, isJSON, schemas.ControlReply{OK: err == nil, Seq: seq, TargetVUs: target, Done: true})
				return err
			}
			target = min(cmd.TargetVUs, e.cfg.Load.MaxVUs)
			if err := publish(time.Now(), false); err != nil {
				return fmt.Errorf("scheduler: %w", err)
			}
			e.reply(m, isJSON, schemas.ControlReply{OK: true, Seq: seq, TargetVUs: target})
		}
	}
}

// reply answers a request in the encoding it came in; a plain publish gets nothing.
func (e *External) reply(m bus.Msg, isJSON bool, r schemas.ControlReply) {
	if m.Reply == "" {
		return
	}
	r.SchemaVersion, r.RunID = schemas.Version, e.cfg.RunID
	var (
		data []byte
		err  error
	)
	if isJSON {
		data, err = json.Marshal(r)
	} else {
		data, err = schemas.Encode(&r)
	}
	if err == nil {
		err = e.conn.PublishRaw(m.Reply, data)
	}
	_ = err // a requester that went away misses its answer; the command stands
}

// maxControlSize bounds a control message: a few fields, nothing more.
const maxControlSize = 4 << 10

// controlWire is a control command as sent: every field a pointer, so that a
// field left out is told from a zero. Unknown fields and wrong types are
// refused: a command that is not fully understood must change nothing.
type controlWire struct {
	SchemaVersion *int    `msgpack:"schema_version" json:"schema_version"`
	RunID         *string `msgpack:"run_id" json:"run_id"`
	TargetVUs     *int    `msgpack:"target_vus" json:"target_vus"`
	Done          *bool   `msgpack:"done" json:"done"`
}

// decodeControl reads a control command sent as a msgpack map or, for people
// typing commands, a JSON object (a JSON object starts with '{', which no
// msgpack map does).
func decodeControl(data []byte) (cmd schemas.ControlCommand, isJSON bool, err error) {
	if len(data) > maxControlSize {
		return cmd, false, fmt.Errorf("control command of %d bytes is too long", len(data))
	}
	var w controlWire
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		isJSON = true
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			return cmd, true, fmt.Errorf("decode control command: %w", err)
		}
		if dec.More() {
			return cmd, true, errors.New("decode control command: data after the object")
		}
	} else {
		// The schema's own check first (a map with a known schema_version) ...
		if err := schemas.Decode(data, &cmd); err != nil {
			return cmd, false, err
		}
		// ... then the strict reading of its fields.
		dec := msgpack.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields(true)
		if err := dec.Decode(&w); err != nil {
			return cmd, false, fmt.Errorf("decode control command: %w", err)
		}
	}
	switch {
	case w.SchemaVersion == nil || *w.SchemaVersion < 1 || *w.SchemaVersion > schemas.Version:
		v := "none"
		if w.SchemaVersion != nil {
			v = fmt.Sprint(*w.SchemaVersion)
		}
		return cmd, isJSON, fmt.Errorf("decode control command: %w %s (want schema_version 1)", schemas.ErrVersion, v)
	case w.TargetVUs == nil && (w.Done == nil || !*w.Done):
		return cmd, isJSON, errors.New("control command: give target_vus or done: true")
	}
	cmd = schemas.ControlCommand{SchemaVersion: *w.SchemaVersion}
	if w.RunID != nil {
		cmd.RunID = *w.RunID
	}
	if w.TargetVUs != nil {
		cmd.TargetVUs = *w.TargetVUs
	}
	if w.Done != nil {
		cmd.Done = *w.Done
	}
	return cmd, isJSON, nil
}
