package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

func TestTapPrintsEveryMessageAsAJSONLine(t *testing.T) {
	b, err := bus.Open(bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	tapConn, err := b.Connect("tap")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := b.Connect("publisher")
	if err != nil {
		t.Fatal(err)
	}

	out := newLineSignal()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- Tap(ctx, tapConn, DefaultTapSubject, out, ready) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatal(err)
	}

	snap := schemas.Snapshot{SchemaVersion: schemas.Version, RunID: "r1", Seq: 3, Requests: 1234, Errors: 5, RPS: 1234.5,
		LatencyMs: schemas.LatencyMs{P99: 12.5}}
	spec := schemas.RunSpec{SchemaVersion: schemas.Version, RunID: "r1", Scenario: schemas.Scenario{Tasks: []schemas.Task{{
		Name: "t", Weight: 1, Requests: []schemas.Request{{Name: "n", Method: "POST", URL: "http://h/", Body: []byte(`{"a":1}`),
			Headers: [][2]string{{"K", "V"}}}}}}}}
	oddKeys, err := msgpack.Marshal(map[any]any{int64(7): "seven", "bin": []byte{0xff, 0x00, 0xfe}, "nan": 0.0})
	if err != nil {
		t.Fatal(err)
	}
	trailing, _ := msgpack.Marshal("one")
	trailing = append(trailing, 0x01)

	steps := []struct {
		subject string
		publish func(subject string) error
		check   func(t *testing.T, line map[string]any)
	}{
		{schemas.Subject("r1", schemas.KindSnapshot), func(s string) error { return pub.Publish(s, &snap) }, func(t *testing.T, line map[string]any) {
			data := line["data"].(map[string]any)
			if data["seq"] != 3.0 || data["requests"] != 1234.0 || data["rps"] != 1234.5 || data["run_id"] != "r1" {
				t.Errorf("snapshot %v", data)
			}
			if lat := data["latency_ms"].(map[string]any); lat["p99"] != 12.5 {
				t.Errorf("latency %v", lat)
			}
		}},
		{schemas.Subject("r1", "spec"), func(s string) error { return pub.Publish(s, &spec) }, func(t *testing.T, line map[string]any) {
			q := line["data"].(map[string]any)["scenario"].(map[string]any)["tasks"].([]any)[0].(map[string]any)["requests"].([]any)[0].(map[string]any)
			if q["body"] != `{"a":1}` {
				t.Errorf("a UTF-8 body prints as text, got %v", q["body"])
			}
			if h := q["headers"].([]any)[0].([]any); h[0] != "K" || h[1] != "V" {
				t.Errorf("headers %v", q["headers"])
			}
		}},
		{schemas.SubjectRoot + ".odd", func(s string) error { return pub.NATS().Publish(s, oddKeys) }, func(t *testing.T, line map[string]any) {
			data := line["data"].(map[string]any)
			if data["7"] != "seven" || data["bin"] != base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0xfe}) || data["nan"] != 0.0 {
				t.Errorf("odd map %v", data)
			}
		}},
		{schemas.SubjectRoot + ".garbage", func(s string) error { return pub.NATS().Publish(s, []byte{0xc1, 0x02}) }, func(t *testing.T, line map[string]any) {
			if line["error"] == nil || line["size"] != 2.0 || line["data"] != nil {
				t.Errorf("undecodable message: %v", line)
			}
		}},
		{schemas.SubjectRoot + ".trailing", func(s string) error { return pub.NATS().Publish(s, trailing) }, func(t *testing.T, line map[string]any) {
			if e, _ := line["error"].(string); !strings.Contains(e, "after the value") {
				t.Errorf("trailing bytes: %v", line)
			}
		}},
	}
	for _, st := range steps {
		if err := st.publish(st.subject); err != nil {
			t.Fatal(err)
		}
		raw := nextLine(t, out)
		var line map[string]any
		if err := json.Unmarshal([]byte(raw), &line); err != nil {
			t.Fatalf("not JSON: %q", raw)
		}
		if line["subject"] != st.subject {
			t.Errorf("subject %v, want %s", line["subject"], st.subject)
		}
		st.check(t, line)
	}

	// Outside the subject: not printed. The next matching message comes alone.
	if err := pub.NATS().Publish("other.subject", []byte{0x01}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(schemas.Subject("r2", schemas.KindState), &schemas.SessionState{SchemaVersion: 1, RunID: "r2", State: "running"}); err != nil {
		t.Fatal(err)
	}
	if raw := nextLine(t, out); !strings.Contains(raw, `"subject":"loadforge.r2.state"`) {
		t.Errorf("line %q", raw)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Tap: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Tap did not return after cancel")
	}
}

func TestJSONableKeepsJSONValid(t *testing.T) {
	in := map[any]any{
		"f":     []any{float32(1.5), 2.0},
		int8(1): map[string]any{"inf": math.Inf(1)},
		"t":     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	b, err := json.Marshal(jsonable(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"1":{"inf":"+Inf"},"f":[1.5,2],"t":"2026-01-02T03:04:05Z"}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
