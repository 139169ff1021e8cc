//go:build unix

package worker

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// BenchmarkOpenPath is the open model's whole path at a fixed arrival rate:
// the dispatcher, the hand-off to a VU, the fast client and a loopback
// server, with recording, one arrival per b.N. At a fixed rate the wall time
// per arrival is 1/rate whatever the cost, so ns/op here is the process's CPU
// time (user + system, from getrusage) per request sent: what a request costs
// the generator, the in-process server's share included. benchstat compares it
// like any ns/op. Dropped iterations and the schedule lag's p99 are reported
// beside it; on a busy machine the process gets less than a core and drops
// arrivals whatever its cost.
func BenchmarkOpenPath(b *testing.B) {
	for _, rate := range []int{5_000, 20_000, 50_000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) { benchOpenPath(b, rate) })
	}
}

// benchPool is BenchmarkOpenPath's pool: enough for 50,000 arrivals/s at
// 2 ms each.
const benchPool = 100

func benchOpenPath(b *testing.B, rate int) {
	srv := newBenchServer(b)
	w, _ := benchWorker(b, srv, schemas.HTTPClientFast)
	d := time.Duration(b.N) * time.Second / time.Duration(rate)
	a := schemas.ArrivalRate{
		Stages: []schemas.RateStage{{DurationNs: 0, Rate: float64(rate)}, {DurationNs: int64(d), Rate: float64(rate)}},
		// A fixed pool, started at once: a pool that grows with the
		// machine's load would make its dials, not the path, the cost.
		MaxVUs:          benchPool,
		PreAllocatedVUs: benchPool,
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	w.followPattern(&schemas.ScaleCommand{AtNs: time.Now().UnixNano(), TargetVUs: benchPool, Arrivals: &a})
	om := w.open.Load()
	<-om.done
	// The last arrivals' requests are still in flight: let them end.
	w.stopOpen()
	w.vuWG.Wait()
	b.StopTimer()
	cpu := cpuTime(b) - cpu0
	var ev schemas.MetricEvent
	w.fillOpen(&ev)
	h := latency.New()
	latency.AddSparse(h, ev.ScheduleLagUs)
	eps, _ := w.agg.collect(w.shards, w.endpoints)
	var sent int64
	for _, ep := range eps {
		if ep.Errors != 0 {
			b.Fatalf("errors in the benchmark: %+v", ep)
		}
		sent += int64(ep.Requests)
	}
	if sent+int64(ev.DroppedIterations) != int64(b.N) {
		b.Fatalf("%d sent + %d dropped of %d arrivals", sent, ev.DroppedIterations, b.N)
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(max(sent, 1)), "ns/op")
	b.ReportMetric(float64(ev.DroppedIterations), "dropped")
	b.ReportMetric(float64(h.ValueAtQuantile(99)), "lag-p99-µs")
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
