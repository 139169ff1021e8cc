package schemas

import (
	"math/rand/v2"
	"testing"
)

// benchEvent is a worker's metric event for one 250 ms interval at a few
// thousand requests/s over three endpoints.
func benchEvent() *MetricEvent {
	rng := rand.New(rand.NewPCG(1, 2))
	ev := &MetricEvent{SchemaVersion: Version, RunID: "0123456789ab", WorkerID: "fedcba9876543210", Seq: 42,
		StartNs: 1_700_000_000_000_000_000, EndNs: 1_700_000_000_250_000_000, VUs: 50, Iterations: 3000}
	for _, name := range []string{"home", "search", "checkout"} {
		ep := EndpointMetrics{Name: name, Method: "GET", URL: "http://127.0.0.1:8080/" + name, Requests: 1000,
			Errors: 3, BytesIn: 300_000, BytesOut: 120_000,
			StatusCodes: map[string]uint64{"200": 997, "503": 3}, ErrorsByKind: map[string]uint64{ErrHTTP5xx: 3}}
		v := int64(800)
		for range 300 {
			v += 1 + rng.Int64N(20)
			ep.LatencyUs = append(ep.LatencyUs, [2]int64{v, 1 + rng.Int64N(8)})
		}
		ev.Endpoints = append(ev.Endpoints, ep)
	}
	return ev
}

func BenchmarkEncodeMetricEvent(b *testing.B) {
	ev := benchEvent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMetricEvent(b *testing.B) {
	data, err := Encode(benchEvent())
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var ev MetricEvent
		if err := Decode(data, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
