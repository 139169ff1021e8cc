package worker

import (
	"bytes"
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// benchJSONResponse is what the scenario benchmarks' server answers: a small
// JSON document, as an API would.
const benchJSONResponse = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 33\r\n\r\n" +
	`{"user":"alice","items":[1,2,3]}` + "\n"

// newJSONBenchServer is benchServer answering benchJSONResponse.
func newJSONBenchServer(tb testing.TB) string {
	srv := startTCPServer(tb, func(c net.Conn) {
		buf := make([]byte, 4096)
		resp := []byte(benchJSONResponse)
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
				return
			}
		}
	})
	return "http://" + srv.addr() + "/me"
}

// scenarioBenchSpecs are one request as plain as today, the same with the
// plan's default cookie jar, and the same with a templated header and two
// checks (status and a JSON path).
func scenarioBenchSpecs(url string) map[string]schemas.RunSpec {
	req := schemas.Request{Name: "me", Method: "GET", URL: url, Headers: [][2]string{{"Authorization", "Bearer abc"}}}
	spec := func(r schemas.Request) schemas.RunSpec {
		return schemas.RunSpec{SchemaVersion: schemas.Version, RunID: "run1",
			Scenario: schemas.Scenario{Tasks: []schemas.Task{{Name: "t", Weight: 1, Requests: []schemas.Request{r}}}}}
	}
	plain := spec(req)
	cookies := spec(req)
	cookies.Cookies = true
	templated := req
	templated.Headers = [][2]string{{"Authorization", "Bearer {{ .token }}"}}
	templated.Checks = []schemas.Check{{Kind: "status", Status: []int{200}}, {Kind: "json", Path: "user", Op: "equals", Value: "alice"}}
	checked := spec(templated)
	checked.Cookies = true
	checked.Vars = [][2]string{{"token", "abc"}}
	return map[string]schemas.RunSpec{"plain": plain, "cookies": cookies, "templated+checks": checked}
}

func scenarioBenchWorker(tb testing.TB, spec schemas.RunSpec) (*Worker, *vu) {
	cfg := Config{RunID: "run1", Spec: spec}
	w, err := New(cfg, testConn(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(w.client.CloseIdleConnections)
	v := &vu{stop: make(chan struct{}), shard: w.shards[0], rng: newTestRand()}
	tb.Cleanup(v.closeConns)
	if !w.startScenarioVU(v) {
		tb.Fatal("no VU state")
	}
	return w, v
}

// BenchmarkScenarioRequest compares, side by side against the same local
// server, a request as plain as before scenarios, the same with the plan's
// default cookie jar (which must cost nothing while the target sets no
// cookie), and with a templated header and two checks. The server runs in
// the same process, so ns/op is client and server together; the server's
// part is the same in each.
func BenchmarkScenarioRequest(b *testing.B) {
	url := newJSONBenchServer(b)
	specs := scenarioBenchSpecs(url)
	for _, name := range []string{"plain", "cookies", "templated+checks"} {
		b.Run(name, func(b *testing.B) {
			w, v := scenarioBenchWorker(b, specs[name])
			ctx := context.Background()
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				if !w.iterate(ctx, v) {
					b.Fatal("iteration cut short")
				}
				w.flushChecks(v)
			}
			b.StopTimer()
			// CPU time, not wall time, is what a busy machine leaves comparable.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			eps, _ := w.agg.collect(w.shards, w.endpoints)
			eps = w.collectChecks(eps)
			if len(eps) != 1 || eps[0].Errors != 0 {
				b.Fatalf("errors: %+v", eps)
			}
			for _, c := range eps[0].Checks {
				if c.Fails != 0 {
					b.Fatalf("check %s failed %d times", c.Name, c.Fails)
				}
			}
		})
	}
}

// processCPU is the process's user and system CPU time so far, in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// A plan with no templates, checks or extraction keeps the fast path: no
// allocation per request, with or without the default cookie jar.
func TestPlainRequestsAllocateNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("measures allocations")
	}
	url := newJSONBenchServer(t)
	for name, spec := range scenarioBenchSpecs(url) {
		if name == "templated+checks" {
			continue
		}
		w, v := scenarioBenchWorker(t, spec)
		ctx := context.Background()
		w.iterate(ctx, v) // the connection and buffers, once
		if allocs := testing.AllocsPerRun(200, func() { w.iterate(ctx, v) }); allocs > raceAllocs {
			t.Errorf("%s: %.1f allocations per request, want none", name, allocs)
		}
	}
}

// The templated request renders per request and its checks see the body.
func TestTemplatedRequestChecksTheBody(t *testing.T) {
	w, v := scenarioBenchWorker(t, scenarioBenchSpecs(newJSONBenchServer(t))["templated+checks"])
	for range 10 {
		if !w.iterate(context.Background(), v) {
			t.Fatal("iteration cut short")
		}
		w.flushChecks(v)
	}
	eps := w.collectChecks(nil)
	if len(eps) != 1 || len(eps[0].Checks) != 2 {
		t.Fatalf("checks %+v", eps)
	}
	for _, c := range eps[0].Checks {
		if c.Passes != 10 || c.Fails != 0 {
			t.Errorf("%s: ✓ %d ✗ %d, want 10 passes", c.Name, c.Passes, c.Fails)
		}
	}
}

// BenchmarkVULoop is one closed-model iteration as a VU runs it (begin,
// the task's request, the iteration's count and duration), for a plain
// request with the plan's cookie jar off and on (the default). A CPU
// profile of it (-cpuprofile) shows what the generator spends per request
// beyond the two syscalls.
func BenchmarkVULoop(b *testing.B) {
	url := newJSONBenchServer(b)
	specs := scenarioBenchSpecs(url)
	for _, name := range []string{"plain", "cookies"} {
		b.Run(name, func(b *testing.B) {
			w, v := scenarioBenchWorker(b, specs[name])
			ctx := context.Background()
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				if !w.beginIteration(v) {
					b.Fatal("no iteration left")
				}
				w.runIteration(ctx, v, time.Time{}) // closed model: no intended start
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			eps, iterations := w.agg.collect(w.shards, w.endpoints)
			if len(eps) != 1 || eps[0].Errors != 0 || iterations != eps[0].Requests {
				b.Fatalf("errors or iterations missing: %+v, %d iterations", eps, iterations)
			}
		})
	}
}
