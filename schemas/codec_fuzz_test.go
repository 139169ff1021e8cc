package schemas

import (
	"errors"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// FuzzDecode feeds arbitrary bytes to Decode for every message type: it must
// never panic, and whatever it accepts must encode and decode again.
func FuzzDecode(f *testing.F) {
	seeds := []any{
		&SessionState{SchemaVersion: Version, RunID: "r", State: StateRunning, StartedAtNs: 1},
		&ScaleCommand{SchemaVersion: Version, RunID: "r", Seq: 3, TargetVUs: 10},
		&WorkerHello{SchemaVersion: Version, RunID: "r", WorkerID: "w", PID: 7},
		&WorkerHeartbeat{SchemaVersion: Version, RunID: "r", WorkerID: "w", VUs: 2, LastSeq: 9},
		&WorkerBye{SchemaVersion: Version, RunID: "r", WorkerID: "w", LastSeq: 9, Requests: 100},
		&MetricEvent{SchemaVersion: Version, RunID: "r", WorkerID: "w", Seq: 1, Endpoints: []EndpointMetrics{{
			Name: "a", Requests: 2, StatusCodes: map[string]uint64{"200": 2}, LatencyUs: [][2]int64{{100, 2}}}}},
		&Snapshot{SchemaVersion: Version, RunID: "r", Seq: 1, Requests: 5},
		&Result{SchemaVersion: ResultVersion, RunID: "r", Endpoints: []EndpointResult{{Name: "a"}},
			Timeline: []TimelineRow{{TS: 1}}, Workers: []WorkerResult{{ID: "w"}}},
		&RunSpec{SchemaVersion: Version, RunID: "r", Scenario: Scenario{Tasks: []Task{{Name: "t", Weight: 1,
			Requests: []Request{{Name: "a", Method: "GET", URL: "http://127.0.0.1/", Headers: [][2]string{{"K", "V"}}}}}}}},
		&WorkerAssignment{SchemaVersion: Version, RunID: "r", Seq: 2, Wanted: 2, Workers: []string{"a", "b"}, Lost: []string{"c"}},
		&ControlCommand{SchemaVersion: Version, RunID: "r", TargetVUs: 5},
		&ControlReply{SchemaVersion: Version, RunID: "r", OK: true, Seq: 3, TargetVUs: 5},
	}
	for _, s := range seeds {
		data, err := Encode(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, v := range []any{"string", 42, []int{1, 2}, map[string]any{"schema_version": 99}} {
		data, err := msgpack.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{0xc1})
	f.Fuzz(func(t *testing.T, data []byte) {
		fresh := []func() Versioned{
			func() Versioned { return new(SessionState) },
			func() Versioned { return new(ScaleCommand) },
			func() Versioned { return new(WorkerHello) },
			func() Versioned { return new(WorkerHeartbeat) },
			func() Versioned { return new(WorkerBye) },
			func() Versioned { return new(MetricEvent) },
			func() Versioned { return new(Snapshot) },
			func() Versioned { return new(Result) },
			func() Versioned { return new(RunSpec) },
			func() Versioned { return new(WorkerAssignment) },
			func() Versioned { return new(ControlCommand) },
			func() Versioned { return new(ControlReply) },
		}
		for _, mk := range fresh {
			m := mk()
			if err := Decode(data, m); err != nil {
				continue
			}
			again, err := Encode(m)
			if err != nil {
				t.Fatalf("%T decoded but does not encode: %v", m, err)
			}
			if err := Decode(again, mk()); err != nil {
				t.Fatalf("%T decoded, encoded, but does not decode again: %v", m, err)
			}
		}
	})
}

// A few bytes that declare huge lengths or deep nesting must be refused
// before the decoder allocates for them (an array32 of 2^28 endpoints used to
// end the process with "out of memory").
func TestDecodeRefusesImpossibleLengths(t *testing.T) {
	key := func(k string) []byte { return append([]byte{0xa0 | byte(len(k))}, k...) }
	field := func(k string, v ...byte) []byte { return append(append([]byte{0x81}, key(k)...), v...) }
	nested := make([]byte, 0, 100_001)
	for range 100_000 {
		nested = append(nested, 0x91) // an array holding an array holding …
	}
	nested = append(nested, 0xc0)
	longArray := []byte{0xdd, 0x00, 0x20, 0x00, 0x00} // 2^21 elements, all present
	longArray = append(longArray, make([]byte, 1<<21)...)
	cases := map[string][]byte{
		"array32 past the end": field("endpoints", 0xdd, 0x10, 0x00, 0x00, 0x00),
		"array16 past the end": field("endpoints", 0xdc, 0xff, 0xff, 0xc0),
		"map32 past the end":   field("x", 0xdf, 0xff, 0xff, 0xff, 0xff),
		"str32 past the end":   field("run_id", 0xdb, 0xc9, 0xc9, 0xc9, 0xc9, 'a'),
		"ext32 past the end":   field("x", 0xc9, 0xc9, 0xc9, 0xc9, 0xc9, 0x01),
		"bin32 past the end":   field("x", 0xc6, 0x72, 0x75, 0x6e, 0x5f),
		"deep nesting":         append(append([]byte{0x81}, key("x")...), nested...),
		"array too long":       append(append([]byte{0x81}, key("x")...), longArray...),
		"reserved byte":        field("x", 0xc1),
		"truncated":            {0x82, 0xa1, 'a'},
		"empty":                {},
	}
	for name, data := range cases {
		var m MetricEvent
		if err := Decode(data, &m); !errors.Is(err, ErrWire) {
			t.Errorf("%s: err = %v, want ErrWire", name, err)
		}
	}
}

// Every message this package encodes passes the check and decodes back.
func TestEncodedMessagesPassTheCheck(t *testing.T) {
	msgs := []Versioned{
		&MetricEvent{SchemaVersion: Version, RunID: "r", WorkerID: "w", Seq: 1 << 40, StartNs: -5, EndNs: 1 << 62,
			VUs: -1, Endpoints: []EndpointMetrics{{Name: string(make([]byte, 70_000)), Requests: 1 << 33,
				StatusCodes: map[string]uint64{"200": 1}, ErrorsByKind: map[string]uint64{},
				LatencyUs: [][2]int64{{1, 1}, {1 << 35, -1 << 40}}}}},
		&Result{SchemaVersion: ResultVersion, RunID: "r", DurationS: 1.5,
			Timeline: make([]TimelineRow, 70_000), Totals: Totals{StatusCodes: map[string]uint64{"200": 1}}},
		&RunSpec{SchemaVersion: Version, Scenario: Scenario{Tasks: []Task{{Requests: []Request{{
			Headers: [][2]string{{"K", "V"}}, Body: make([]byte, 300)}}}}}, RPSLimit: 0.5},
		&SessionState{SchemaVersion: Version, Hard: true, GracefulStopNs: 1 << 34},
	}
	for _, m := range msgs {
		data, err := Encode(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkWire(data); err != nil {
			t.Fatalf("%T: %v", m, err)
		}
	}
}
