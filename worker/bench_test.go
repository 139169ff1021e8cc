package worker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// BenchmarkIteration is one VU iteration (one GET of a small body) through the
// real client, recording and shard path, against a local server.
func BenchmarkIteration(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello"))
	}))
	defer srv.Close()
	cfg := baseConfig(task("bench", 1, srv.URL+"/"))
	cfg.Spec.Scenario.Tasks[0].Requests[0].Headers = [][2]string{{"Accept", "text/plain"}}
	w, err := New(cfg, testConn(b))
	if err != nil {
		b.Fatal(err)
	}
	defer w.client.CloseIdleConnections()
	v := &vu{id: 0, stop: make(chan struct{}), shard: w.shards[0], rng: newTestRand()}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if !w.iterate(ctx, v) {
			b.Fatal("iteration cut short")
		}
	}
	b.StopTimer()
	eps, _ := w.agg.collect(w.shards, w.endpoints)
	if len(eps) != 1 || eps[0].Errors != 0 {
		b.Fatalf("errors in the benchmark: %+v", eps)
	}
}

// BenchmarkRecord is recording one completed request into a shard.
func BenchmarkRecord(b *testing.B) {
	s := newShards(1, 1)[0]
	o := outcome{status: 200, latencyUs: 1234, bytesIn: 300, bytesOut: 120}
	b.ReportAllocs()
	for b.Loop() {
		s.record(0, o)
	}
}

// BenchmarkRecordParallel records from many goroutines spread over shards as VUs are.
func BenchmarkRecordParallel(b *testing.B) {
	shards := newShards(16, 1)
	var next atomic.Int64
	o := outcome{status: 200, latencyUs: 1234, bytesIn: 300, bytesOut: 120}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := shards[int(next.Add(1))%len(shards)]
		for pb.Next() {
			s.record(0, o)
		}
	})
}

// BenchmarkCollect is one flush of 16 busy shards and 3 endpoints into an event's endpoints.
func BenchmarkCollect(b *testing.B) {
	shards := newShards(16, 3)
	eps := []endpoint{{"a", "GET", "http://x/a"}, {"b", "GET", "http://x/b"}, {"c", "POST", "http://x/c"}}
	var agg aggregator
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for _, s := range shards {
			for ep := range eps {
				for us := int64(100); us < 100_000; us *= 3 {
					s.record(ep, outcome{status: 200, latencyUs: us})
				}
			}
		}
		b.StartTimer()
		out, _ := agg.collect(shards, eps)
		if len(out) != len(eps) {
			b.Fatal("endpoints missing")
		}
	}
}
