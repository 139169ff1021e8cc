package scheduler

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRampTo10000 follows a 0 → 10,000 VU ramp over 10 s in real time
// and reports the process's CPU time for it (scheduler and in-process bus)
// and the scale commands it took. Run it alone, on a quiet machine:
//
//	go test -run '^$' -bench RampTo10000 -benchtime 1x ./scheduler/
func BenchmarkRampTo10000(b *testing.B) {
	benchmarkPattern(b, pattern.Ramp(0, 10_000, 10*time.Second))
}

// BenchmarkFlat10s is the same for a flat pattern of the same length: the
// process's cost of ten seconds with the bus up, for comparison.
func BenchmarkFlat10s(b *testing.B) {
	benchmarkPattern(b, pattern.Constant(10_000, 10*time.Second))
}

func benchmarkPattern(b *testing.B, p pattern.Pattern) {
	bb, err := bus.Open(bus.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = bb.Close(context.Background()) }()
	conn, err := bb.Connect("scheduler")
	if err != nil {
		b.Fatal(err)
	}
	sub, err := bb.Connect("count")
	if err != nil {
		b.Fatal(err)
	}
	var commands atomic.Int64
	if _, err := sub.SubscribeRaw(schemas.Subject(testRunID, schemas.KindScale), func(string, []byte) { commands.Add(1) }); err != nil {
		b.Fatal(err)
	}
	if err := sub.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	var cpu time.Duration
	for b.Loop() {
		before := cpuTime(b)
		if err := mustNew(b, Config{RunID: testRunID, Pattern: p}, conn).Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - before
	}
	if err := sub.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(commands.Load())/float64(b.N), "commands/op")
}
