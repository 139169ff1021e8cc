package worker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
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

// BenchmarkScheduleLag runs the open model at 10,000 arrivals/s, one per
// b.N, and reports how late the dispatcher handed them to a VU (actual
// dispatch − intended time): its p50, p99 and max in µs. "no-op" answers
// every request at once in the process, so that only the generator is
// measured; "loopback" sends them to a local HTTP server.
func BenchmarkScheduleLag(b *testing.B) {
	const rate = 10_000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	for _, c := range []struct {
		name   string
		client *http.Client
	}{
		{"no-op", &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
		})}},
		{"loopback", nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg := baseConfig(task("bench", 1, srv.URL+"/"))
			cfg.Client = c.client
			w, err := New(cfg, testConn(b))
			if err != nil {
				b.Fatal(err)
			}
			defer w.client.CloseIdleConnections()
			d := time.Duration(b.N) * time.Second / rate
			a := schemas.ArrivalRate{Stages: []schemas.RateStage{{DurationNs: 0, Rate: rate}, {DurationNs: int64(d), Rate: rate}}, MaxVUs: 1000, PreAllocatedVUs: 50}
			t0 := time.Now()
			b.ResetTimer()
			w.followPattern(&schemas.ScaleCommand{AtNs: t0.UnixNano(), TargetVUs: 50, Arrivals: &a})
			om := w.open.Load()
			<-om.done
			b.StopTimer()
			w.stopOpen()
			w.vuWG.Wait()
			var ev schemas.MetricEvent
			w.fillOpen(&ev)
			h := latency.New()
			latency.AddSparse(h, ev.ScheduleLagUs)
			if h.TotalCount() != int64(b.N) {
				b.Fatalf("%d arrivals timed of %d", h.TotalCount(), b.N)
			}
			b.ReportMetric(float64(ev.DroppedIterations), "dropped")
			b.ReportMetric(float64(h.ValueAtQuantile(50)), "lag-p50-µs")
			b.ReportMetric(float64(h.ValueAtQuantile(99)), "lag-p99-µs")
			b.ReportMetric(float64(h.Max()), "lag-max-µs")
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
