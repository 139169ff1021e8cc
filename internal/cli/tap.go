package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

// DefaultTapSubject is every loadforge subject of every run.
const DefaultTapSubject = schemas.SubjectRoot + ".>"

var tapSettings = []setting{
	{flag: "nats", key: "nats", def: "nats://127.0.0.1:4222", usage: "`URL` of the bus (a run's --listen address, or a NATS server)"},
}

func (a *app) tapCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tap [SUBJECT]",
		Short: "Print what flows on the bus as JSON lines (default subject loadforge.>)",
		Long: `Print every message on SUBJECT (default loadforge.>, every run) as one JSON
line: {"subject": "…", "data": {…}}. A message that is not msgpack prints as
{"subject": "…", "error": "…", "size": n}. Byte strings print as text when
they are UTF-8, else as base64. Each time in Unix nanoseconds (a key ending in
_ns, like at_ns) gets the same time in RFC 3339 beside it (at_time). A bus
that is not up yet is retried every second, so a tap started with a run sees
its first message. Stops on SIGINT or SIGTERM.`,
		Example: `  loadforge run configs/quickstart.yaml --listen 127.0.0.1:4222 &
  loadforge tap --nats nats://127.0.0.1:4222 'loadforge.*.snapshot'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return fmt.Errorf("tap takes one SUBJECT, got %d arguments", len(args))
			}
			return nil
		},
	}
	addFlags(cmd.Flags(), tapSettings)
	addFlags(cmd.Flags(), clientSettings)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		st, err := newSettings(cmd.Flags(), tapSettings, clientSettings)
		if err != nil {
			return failure(err)
		}
		cred, err := clientCredentials(st)
		if err != nil {
			return err
		}
		subject := DefaultTapSubject
		if len(args) == 1 {
			subject = args[0]
		}
		if err := checkSubject(subject); err != nil {
			return err
		}
		url := st.text(tapSettings[0])
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		// Like a worker, a tap may start before the run's bus: it waits for it.
		log := slog.New(slog.NewTextHandler(a.stderr, nil))
		conn, err := dialWhenUp(ctx, url, "loadforge-tap", watchRetryEvery, cred, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return failure(err)
		}
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = conn.Close(closeCtx)
		}()
		// Said once the server holds the subscription: from then on nothing is missed.
		ready := make(chan struct{})
		said := make(chan struct{})
		go func() {
			defer close(said)
			select {
			case <-ready:
				fmt.Fprintf(a.stderr, "loadforge tap: %s on %s\n", subject, url)
			case <-ctx.Done():
			}
		}()
		err = Tap(ctx, conn, subject, a.stdout, ready)
		stop()
		<-said
		if err != nil {
			return failure(err)
		}
		return nil
	}
	return cmd
}

// checkSubject refuses a subject NATS would reject, with a readable reason.
func checkSubject(s string) error {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("subject %q: want dot-separated tokens without spaces, like loadforge.>", s)
	}
	for i, tok := range strings.Split(s, ".") {
		last := i == strings.Count(s, ".")
		switch {
		case tok == "":
			return fmt.Errorf("subject %q: empty token", s)
		case tok == ">" && !last:
			return fmt.Errorf("subject %q: > must be the last token", s)
		}
	}
	return nil
}

// Tap subscribes to subject on conn and writes one JSON line per message to w
// until ctx is done (it then returns nil) or writing fails. ready, when not
// nil, is closed once the server has the subscription.
func Tap(ctx context.Context, conn *bus.Conn, subject string, w io.Writer, ready chan<- struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		stopped  bool
		writeErr error
	)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	sub, err := conn.SubscribeRaw(subject, func(subj string, data []byte) {
		line := tapLine(subj, data)
		mu.Lock()
		defer mu.Unlock()
		if stopped || writeErr != nil {
			return
		}
		if err := enc.Encode(line); err != nil {
			writeErr = fmt.Errorf("tap: write: %w", err)
			cancel()
		}
	})
	if err != nil {
		return fmt.Errorf("tap: %w", err)
	}
	if err := conn.Flush(ctx); err != nil {
		_ = sub.Unsubscribe()
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("tap: %w", err)
	}
	if ready != nil {
		close(ready)
	}
	<-ctx.Done()
	_ = sub.Unsubscribe()
	// A callback may still be running; after this no line is written.
	mu.Lock()
	stopped = true
	err = writeErr
	mu.Unlock()
	return err
}

type tapData struct {
	Subject string `json:"subject"`
	Data    any    `json:"data"`
}

type tapError struct {
	Subject string `json:"subject"`
	Error   string `json:"error"`
	Size    int    `json:"size"`
}

// tapLine decodes one message without knowing its type.
func tapLine(subject string, data []byte) any {
	v, err := decodeAny(data)
	if err != nil {
		return tapError{Subject: subject, Error: schemas.OneLine(err.Error()), Size: len(data)}
	}
	return tapData{Subject: subject, Data: v}
}

// decodeAny decodes one msgpack value into JSON-ready values: maps with text
// keys, []any, int64/uint64/float64, strings (bytes that are not UTF-8 as base64).
func decodeAny(data []byte) (any, error) {
	r := bytes.NewReader(data)
	dec := msgpack.NewDecoder(r)
	dec.UseLooseInterfaceDecoding(true)
	// Untyped maps take any key type; jsonable turns the keys into text.
	dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
	v, err := dec.DecodeInterfaceLoose()
	if err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("msgpack: %d bytes after the value", r.Len())
	}
	return jsonable(v), nil
}

// jsonable converts decoded msgpack into values encoding/json can write.
func jsonable(v any) any {
	switch x := v.(type) {
	case nil, bool, int64, uint64, int8, int16, int32, int, uint8, uint16, uint32, uint:
		return x
	case string:
		// msgpack bin arrives as a string too: bytes that are not text print as base64.
		if utf8.ValidString(x) {
			return x
		}
		return base64.StdEncoding.EncodeToString([]byte(x))
	case float64:
		return finite(x)
	case float32:
		return finite(float64(x))
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return base64.StdEncoding.EncodeToString(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[mapKey(k)] = jsonable(e)
		}
		return withTimes(out)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return withTimes(out)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

// minUnixNs is 2001-09-09 in Unix nanoseconds: an _ns value at least this
// large is a point in time; smaller ones are durations (graceful_stop_ns,
// elapsed_ns, …), which no run lasts 31 years to reach.
const minUnixNs = 1_000_000_000_000_000_000

// withTimes adds, beside each key NAME_ns holding a Unix time in
// nanoseconds, NAME_time with the same time in RFC 3339 (UTC), for people.
func withTimes(m map[string]any) map[string]any {
	for k, v := range m {
		base, ok := strings.CutSuffix(k, "_ns")
		if !ok {
			continue
		}
		var ns int64
		switch n := v.(type) {
		case int64:
			ns = n
		case uint64:
			if n > math.MaxInt64 {
				continue
			}
			ns = int64(n)
		default:
			continue
		}
		if ns < minUnixNs {
			continue
		}
		if _, taken := m[base+"_time"]; !taken {
			m[base+"_time"] = time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
		}
	}
	return m
}

func mapKey(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	b, err := json.Marshal(jsonable(k))
	if err != nil {
		return fmt.Sprint(k)
	}
	return string(b)
}

// finite keeps NaN and infinities, which JSON cannot hold, as text.
func finite(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Sprint(f)
	}
	return f
}
