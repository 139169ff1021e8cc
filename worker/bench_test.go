package worker

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// benchServer is the leanest HTTP/1.1 server that will do: it answers each
// request head it reads with the same small response, allocating nothing per
// request, so that a benchmark's allocations are the client's own. Requests
// must have no body.
type benchServer struct{ *tcpServer }

const benchResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"

func newBenchServer(b *testing.B) *benchServer {
	s := &benchServer{}
	s.tcpServer = startTCPServer(b, s.serve)
	return s
}

func (s *benchServer) URL() string { return "http://" + s.addr() + "/" }

func (s *benchServer) serve(c net.Conn) {
	buf := make([]byte, 4096)
	resp := []byte(benchResponse)
	have := 0
	for {
		n, err := c.Read(buf[have:])
		if err != nil {
			return
		}
		have += n
		for {
			end := bytes.Index(buf[:have], []byte("\r\n\r\n"))
			if end < 0 {
				break
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
			have = copy(buf, buf[end+4:have])
		}
		if have == len(buf) {
			return // a request head this long is not one of ours
		}
	}
}

// benchWorker is a worker for one GET of srv with the given client choice
// (empty: the default), and a VU of it.
func benchWorker(b *testing.B, srv *benchServer, client string) (*Worker, *vu) {
	cfg := baseConfig(task("bench", 1, srv.URL()))
	cfg.Spec.Scenario.Tasks[0].Requests[0].Headers = [][2]string{{"Accept", "text/plain"}}
	cfg.Spec.HTTPClient = client
	w, err := New(cfg, testConn(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.client.CloseIdleConnections)
	return w, benchVU(b, w)
}

func benchVU(b *testing.B, w *Worker) *vu {
	v := &vu{id: 0, stop: make(chan struct{}), shard: w.shards[0], rng: newTestRand(), fast: w.fast.NewSession()}
	b.Cleanup(v.fast.Close)
	return v
}

// checkBench fails the benchmark if any request it made failed.
func checkBench(b *testing.B, w *Worker) {
	b.StopTimer()
	eps, _ := w.agg.collect(w.shards, w.endpoints)
	if len(eps) != 1 || eps[0].Errors != 0 {
		b.Fatalf("errors in the benchmark: %+v", eps)
	}
}

// BenchmarkIteration is one VU iteration (one GET of a small body) through the
// real client, recording and shard path, against a local server, with the
// default client. ns/op includes the server's side.
func BenchmarkIteration(b *testing.B) {
	benchIterations(b, "")
}

// benchIterations runs one VU's iterations with the given client choice.
func benchIterations(b *testing.B, client string) {
	w, v := benchWorker(b, newBenchServer(b), client)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if !w.iterate(ctx, v) {
			b.Fatal("iteration cut short")
		}
	}
	checkBench(b, w)
}

// BenchmarkIterationClient is BenchmarkIteration with each client.
func BenchmarkIterationClient(b *testing.B) {
	for _, client := range []string{schemas.HTTPClientFast, schemas.HTTPClientNetHTTP} {
		b.Run("client="+benchName(client), func(b *testing.B) { benchIterations(b, client) })
	}
}

// BenchmarkIterationParallel runs iterations from 50 VUs at once per
// GOMAXPROCS, each with its own connection, as a closed-model run does.
func BenchmarkIterationParallel(b *testing.B) {
	for _, client := range []string{schemas.HTTPClientFast, schemas.HTTPClientNetHTTP} {
		b.Run("client="+benchName(client), func(b *testing.B) {
			w, _ := benchWorker(b, newBenchServer(b), client)
			var slot atomic.Int64
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(50)
			b.RunParallel(func(pb *testing.PB) {
				v := &vu{stop: make(chan struct{}), shard: w.shards[int(slot.Add(1))%len(w.shards)], rng: newTestRand(), fast: w.fast.NewSession()}
				defer v.fast.Close()
				for pb.Next() {
					if !w.iterate(ctx, v) {
						b.Error("iteration cut short")
						return
					}
				}
			})
			checkBench(b, w)
		})
	}
}

// benchName keeps a client's name to one benchmark name element.
func benchName(client string) string { return strings.ReplaceAll(client, "/", "") }

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

// BenchmarkCollect is one flush of 16 busy shards and 3 endpoints into an
// event's endpoints: counters, histogram merge and sparse form.
func BenchmarkCollect(b *testing.B) {
	shards := newShards(16, 3)
	eps := []endpoint{
		{name: "a", method: "GET", url: "http://x/a"},
		{name: "b", method: "GET", url: "http://x/b"},
		{name: "c", method: "POST", url: "http://x/c"},
	}
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
