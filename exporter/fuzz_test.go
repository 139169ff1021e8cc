package exporter

import (
	"testing"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

// FuzzExporterMessages feeds arbitrary bytes to the exporter as each kind of
// message it reads, then gathers the metrics: nothing may panic (invalid
// UTF-8 in names, absurd counts, …) and what is served must be valid.
func FuzzExporterMessages(f *testing.F) {
	ev, _ := schemas.Encode(&schemas.MetricEvent{SchemaVersion: 1, RunID: "r", WorkerID: "w", Seq: 1, VUs: 2,
		Endpoints: []schemas.EndpointMetrics{{Name: "home", Method: "GET", Requests: 3, StatusCodes: map[string]uint64{"200": 3},
			ErrorsByKind: map[string]uint64{"http_5xx": 1}, LatencyUs: [][2]int64{{1000, 3}},
			Checks: []schemas.CheckCount{{Name: "ok", Passes: 3}}}}})
	bad, _ := schemas.Encode(&schemas.MetricEvent{SchemaVersion: 1, RunID: "r", WorkerID: "w", Seq: 2,
		Endpoints: []schemas.EndpointMetrics{{Name: "\xff\xfe", Method: "\x80", Requests: 1, StatusCodes: map[string]uint64{"x": 1},
			ErrorsByKind: map[string]uint64{"\xc3": 1}, LatencyUs: [][2]int64{{-5, 1}, {1 << 62, 1 << 62}}}}})
	th, _ := schemas.Encode(&schemas.ThresholdState{SchemaVersion: 1, RunID: "r", Metric: "m\xff", Expression: "p(95)<1"})
	st, _ := schemas.Encode(&schemas.SessionState{SchemaVersion: 1, RunID: "r", State: "running\xff"})
	for _, seed := range [][]byte{ev, bad, th, st, {0xc1}, nil} {
		f.Add(seed, uint8(0), "loadforge.r.metrics.w")
		f.Add(seed, uint8(1), "loadforge.r.threshold")
		f.Add(seed, uint8(2), "loadforge.r.state")
	}
	b, err := bus.Open(bus.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = b.Close(f.Context()) })
	conn, err := b.Connect("fuzz")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, kind uint8, subject string) {
		e, err := New(Config{}, conn)
		if err != nil {
			t.Fatal(err)
		}
		switch kind % 4 {
		case 0:
			var m schemas.MetricEvent
			if schemas.Decode(data, &m) == nil {
				e.onEvent(subject, &m)
			}
		case 1:
			e.onThresholdRaw(subject, data)
		case 2:
			var m schemas.SessionState
			if schemas.Decode(data, &m) == nil {
				e.onState(subject, &m)
			}
		case 3:
			var m schemas.WorkerAssignment
			if schemas.Decode(data, &m) == nil {
				e.onAssign(subject, &m)
			}
		}
		if _, err := e.reg.Gather(); err != nil {
			t.Fatalf("gather: %v", err)
		}
	})
}
