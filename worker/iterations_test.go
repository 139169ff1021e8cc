package worker

import (
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/latency"
)

// TestIterationDurationIsRecorded: an iteration of two 30 ms requests lasts
// at least 60 ms; the events carry one duration per iteration counted.
func TestIterationDurationIsRecorded(t *testing.T) {
	for _, client := range clients {
		t.Run(client, func(t *testing.T) {
			tg := newTarget(t)
			const delay = 30 * time.Millisecond
			cfg := baseConfig(task("two", 1, tg.URL+"/delay?ms=30", tg.URL+"/delay?ms=30"))
			cfg.Spec.HTTPClient = client
			h := startWorker(t, cfg)
			h.running()
			h.scale(2)
			h.waitUntil("iterations", func() bool { return tg.total() >= 10 })
			h.stop(5*time.Second, false)
			if err := h.wait(); err != nil {
				t.Fatal(err)
			}
			var iterations uint64
			hist := latency.New()
			for _, ev := range h.events() {
				iterations += ev.Iterations
				latency.AddSparse(hist, ev.IterationDurationUs)
			}
			if iterations == 0 || uint64(hist.TotalCount()) != iterations {
				t.Fatalf("%d iteration durations for %d iterations", hist.TotalCount(), iterations)
			}
			if lo := hist.Min(); lo < (2 * delay).Microseconds() {
				t.Errorf("shortest iteration %d µs, want ≥ %d", lo, (2 * delay).Microseconds())
			}
		})
	}
}
