package worker

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// rawFormats are the --raw variants the benchmarks compare with none.
var rawFormats = []string{"none", "csv", "jsonl", "csv.gz"}

// benchRaw gives w a raw records file of format (none: no file), closed
// when the benchmark ends.
func benchRaw(b *testing.B, w *Worker, format string) {
	if format == "none" {
		return
	}
	r, err := openRaw(filepath.Join(b.TempDir(), "raw."+format), "bench", w.endpoints, len(w.shards))
	if err != nil {
		b.Fatal(err)
	}
	w.raw = r
	b.Cleanup(func() {
		if _, err := r.close(); err != nil {
			b.Error(err)
		}
	})
}

// BenchmarkIterationRaw is BenchmarkIteration (fast client) without and
// with raw records in each format: the difference is what --raw costs per
// request on one VU.
func BenchmarkIterationRaw(b *testing.B) {
	for _, format := range rawFormats {
		b.Run("raw="+format, func(b *testing.B) {
			w, v := benchWorker(b, newBenchServer(b), "")
			benchRaw(b, w, format)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if !w.iterate(ctx, v) {
					b.Fatal("iteration cut short")
				}
			}
			checkBench(b, w)
		})
	}
}

// BenchmarkIterationRawParallel is the same from 50 VUs per GOMAXPROCS, as
// a closed-model run: here the shards' locks and the writer's queue count.
func BenchmarkIterationRawParallel(b *testing.B) {
	for _, format := range rawFormats {
		b.Run("raw="+format, func(b *testing.B) {
			w, _ := benchWorker(b, newBenchServer(b), "")
			benchRaw(b, w, format)
			var slot atomic.Int64
			ctx := context.Background()
			b.ReportAllocs()
			b.SetParallelism(50)
			b.RunParallel(func(pb *testing.PB) {
				id := int(slot.Add(1))
				v := &vu{id: id, stop: make(chan struct{}), shard: w.shards[id%len(w.shards)], rng: newTestRand()}
				defer v.closeConns()
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

// BenchmarkRawRecord is the cost of one record alone, writer included
// (compression runs on the writer goroutine: -cpu 1 puts it in ns/op).
func BenchmarkRawRecord(b *testing.B) {
	eps := []endpoint{{name: "GET /", method: "GET", url: "http://127.0.0.1:8080/"}}
	for _, format := range rawFormats[1:] {
		b.Run("raw="+format, func(b *testing.B) {
			r, err := openRaw(filepath.Join(b.TempDir(), "raw."+format), "0123456789abcdef", eps, 8)
			if err != nil {
				b.Fatal(err)
			}
			o := outcome{status: 200, latencyUs: 1234, bytesIn: 120, bytesOut: 80, start: time.Now()}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				o.start = o.start.Add(time.Microsecond)
				r.record(i&63, 0, &o)
				i++
			}
			if _, err := r.close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}
