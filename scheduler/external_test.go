package scheduler

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
)

// externalBus starts an External stage for testRunID and returns it, a
// channel of the scale commands it publishes, and an outside connection.
func externalBus(t *testing.T, load pattern.ExternalLoad) (*External, <-chan received, *nats.Conn, func() error) {
	t.Helper()
	conn, got := openBus(t)
	e, err := NewExternal(ExternalConfig{RunID: testRunID, Load: load}, conn)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.Ready():
		t.Fatal("ready before Run: the constructor subscribed")
	default:
	}
	outside := conn.NATS() // any other client of the bus would do
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	var runErr error
	go func() {
		runErr = e.Run(ctx)
		close(finished)
	}()
	select {
	case <-e.Ready():
	case <-finished:
		t.Fatalf("Run ended before it was ready: %v", runErr)
	}
	wait := func() error {
		select {
		case <-finished:
			return runErr
		case <-time.After(waitLong):
			t.Fatal("Run did not return")
		}
		return nil
	}
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return e, got, outside, wait
}

func nextScale(t *testing.T, got <-chan received) schemas.ScaleCommand {
	t.Helper()
	select {
	case r := <-got:
		return r.cmd
	case <-time.After(waitLong):
		t.Fatal("no scale command")
	}
	return schemas.ScaleCommand{}
}

func control(t *testing.T, nc *nats.Conn, data []byte) []byte {
	t.Helper()
	msg, err := nc.Request(schemas.Subject(testRunID, schemas.KindControl), data, waitLong)
	if err != nil {
		t.Fatalf("control request: %v", err)
	}
	return msg.Data
}

func TestExternalRelaysControlCommands(t *testing.T) {
	e, got, nc, wait := externalBus(t, pattern.ExternalLoad{InitialVUs: 2, MaxVUs: 50})
	if c := nextScale(t, got); c.Seq != 1 || c.TargetVUs != 2 || c.Done {
		t.Fatalf("first scale command %+v, want the initial 2 VUs", c)
	}

	// msgpack, as a program sends it; the reply comes back in msgpack.
	data, _ := msgpack.Marshal(&schemas.ControlCommand{SchemaVersion: 1, TargetVUs: 10})
	var reply schemas.ControlReply
	if err := schemas.Decode(control(t, nc, data), &reply); err != nil || !reply.OK || reply.TargetVUs != 10 || reply.Seq != 2 {
		t.Errorf("reply %+v, err %v", reply, err)
	}
	if c := nextScale(t, got); c.Seq != 2 || c.TargetVUs != 10 {
		t.Errorf("scale command %+v, want 10 VUs", c)
	}

	// JSON, as a person types it with the nats CLI; above the cap it runs the cap.
	var jr schemas.ControlReply
	if err := json.Unmarshal(control(t, nc, []byte(` {"schema_version": 1, "target_vus": 80}`)), &jr); err != nil || !jr.OK || jr.TargetVUs != 50 {
		t.Errorf("JSON reply %+v, err %v", jr, err)
	}
	if c := nextScale(t, got); c.TargetVUs != 50 {
		t.Errorf("scale command %+v, want the cap of 50", c)
	}

	// Refused: nothing is published, the reply says why, the count rises.
	for _, bad := range []string{`{"target_vus": 5}`, `{"schema_version": 1, "target_vus": -1}`,
		`{"schema_version": 1, "run_id": "other", "target_vus": 3}`, `{nope`} {
		if err := json.Unmarshal(control(t, nc, []byte(bad)), &jr); err != nil || jr.OK || jr.Error == "" {
			t.Errorf("%s: reply %+v, err %v", bad, jr, err)
		}
	}
	if err := nc.Publish(schemas.Subject(testRunID, schemas.KindControl), []byte{0xc1}); err != nil {
		t.Fatal(err)
	}
	// A plain publish works too, and ends the load.
	data, _ = msgpack.Marshal(&schemas.ControlCommand{SchemaVersion: 1, Done: true})
	if err := nc.Publish(schemas.Subject(testRunID, schemas.KindControl), data); err != nil {
		t.Fatal(err)
	}
	if c := nextScale(t, got); !c.Done || c.TargetVUs != 50 {
		t.Errorf("last scale command %+v, want done at 50 VUs", c)
	}
	if err := wait(); err != nil {
		t.Errorf("Run: %v", err)
	}
	if n := e.Malformed(); n != 5 {
		t.Errorf("%d malformed control messages, want 5", n)
	}
}

func TestExternalEndsAfterItsDuration(t *testing.T) {
	_, got, _, wait := externalBus(t, pattern.ExternalLoad{InitialVUs: 1, MaxVUs: 5, Duration: 300 * time.Millisecond})
	first := nextScale(t, got)
	last := nextScale(t, got)
	if !last.Done || last.ElapsedNs != int64(300*time.Millisecond) || last.AtNs-first.AtNs != int64(300*time.Millisecond) {
		t.Errorf("last command %+v, want done at 300ms", last)
	}
	if err := wait(); err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestExternalRejectsAnInvalidLoad(t *testing.T) {
	conn, _ := openBus(t)
	if e, err := NewExternal(ExternalConfig{RunID: testRunID, Load: pattern.ExternalLoad{}}, conn); err == nil {
		t.Errorf("NewExternal with an invalid load = %v, nil", e)
	}
	if e, err := NewExternal(ExternalConfig{RunID: "a.b", Load: pattern.ExternalLoad{MaxVUs: 1}}, conn); err == nil {
		t.Errorf("NewExternal with a bad run id = %v, nil", e)
	}
}

func FuzzDecodeControl(f *testing.F) {
	mp, _ := msgpack.Marshal(&schemas.ControlCommand{SchemaVersion: 1, TargetVUs: 7, Done: true})
	for _, s := range [][]byte{mp, []byte(`{"schema_version":1,"target_vus":3}`), []byte(`  {`), {0xc1}, {}, []byte(`{"schema_version":9}`)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cmd, isJSON, err := decodeControl(data)
		if err != nil {
			return
		}
		if cmd.SchemaVersion < 1 || cmd.SchemaVersion > schemas.Version {
			t.Fatalf("accepted schema_version %d", cmd.SchemaVersion)
		}
		// What decodes must decode again after encoding in the same form.
		var again []byte
		if isJSON {
			again, err = json.Marshal(cmd)
		} else {
			again, err = schemas.Encode(&cmd)
		}
		if err != nil {
			t.Fatal(err)
		}
		if back, _, err := decodeControl(again); err != nil || back != cmd {
			t.Fatalf("round trip: %+v, %v; want %+v", back, err, cmd)
		}
	})
}

// A command that is not fully understood (an unknown key, a wrong type, no
// target) is refused with a reply that says why, and changes nothing.
func TestExternalRefusesWhatItDoesNotUnderstand(t *testing.T) {
	e, got, nc, wait := externalBus(t, pattern.ExternalLoad{InitialVUs: 100, MaxVUs: 200})
	if c := nextScale(t, got); c.TargetVUs != 100 {
		t.Fatalf("first scale command %+v, want the initial 100 VUs", c)
	}
	unknownKey, _ := msgpack.Marshal(map[string]any{"schema_version": 1, "vus": 7})
	wrongType, _ := msgpack.Marshal(map[string]any{"schema_version": 1, "target_vus": "7"})
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"json unknown key", []byte(`{"schema_version":1,"vus":7}`), `unknown field "vus"`},
		{"json wrong type", []byte(`{"schema_version":1,"target_vus":"7"}`), "target_vus"},
		{"json no target", []byte(`{"schema_version":1}`), "give target_vus or done"},
		{"json trailing data", []byte(`{"schema_version":1,"target_vus":7} {"target_vus":9}`), "data after the object"},
		{"msgpack unknown key", unknownKey, "vus"},
		{"msgpack wrong type", wrongType, "decode"},
	}
	for _, tc := range cases {
		reply := control(t, nc, tc.data)
		var r schemas.ControlReply
		if json.Unmarshal(reply, &r) != nil {
			if err := schemas.Decode(reply, &r); err != nil {
				t.Fatalf("%s: undecodable reply %q", tc.name, reply)
			}
		}
		if r.OK || !strings.Contains(r.Error, tc.want) {
			t.Errorf("%s: reply %+v, want an error mentioning %q", tc.name, r, tc.want)
		}
	}
	if e.Accepted() != 0 {
		t.Errorf("%d commands accepted, want none", e.Accepted())
	}
	// The next good command is the second scale command: nothing was published between.
	data, _ := msgpack.Marshal(&schemas.ControlCommand{SchemaVersion: 1, TargetVUs: 7})
	control(t, nc, data)
	if c := nextScale(t, got); c.Seq != 2 || c.TargetVUs != 7 {
		t.Errorf("scale command %+v, want seq 2 with 7 VUs", c)
	}
	if e.Accepted() != 1 || e.Malformed() != uint64(len(cases)) {
		t.Errorf("accepted %d, malformed %d; want 1 and %d", e.Accepted(), e.Malformed(), len(cases))
	}
	data, _ = msgpack.Marshal(&schemas.ControlCommand{SchemaVersion: 1, Done: true})
	control(t, nc, data)
	if err := wait(); err != nil {
		t.Errorf("Run: %v", err)
	}
}
