package worker

import (
	"math"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/arrival"
)

// The process is short of CPU from a window where a quarter of the
// goroutines made runnable waited 250 µs or more, and stays so until under a
// tenth did; a window without a switch changes nothing.
func TestStillShort(t *testing.T) {
	// Buckets: [0, 100 µs), [100 µs, 250 µs), [250 µs, 1 ms), [1 ms, ∞).
	bounds := []float64{0, 100e-6, 250e-6, 1e-3, math.Inf(1)}
	for _, c := range []struct {
		was   bool
		count []uint64
		want  bool
	}{
		{false, []uint64{70, 10, 10, 10}, false}, // 20 % waited long
		{false, []uint64{60, 15, 20, 5}, true},   // 25 %
		{false, []uint64{0, 100, 0, 0}, false},   // 100–250 µs is not long
		{true, []uint64{80, 10, 5, 5}, true},     // 10 %: still short
		{true, []uint64{80, 11, 5, 4}, false},    // 9 %: enough CPU again
		{true, []uint64{85, 0, 5, 10}, true},     // 15 %: still short
		{true, nil, true},
		{false, []uint64{0, 0, 0, 0}, false},
	} {
		if got := stillShort(c.was, bounds, c.count); got != c.want {
			t.Errorf("was %v, counts %v: short %v, want %v", c.was, c.count, got, c.want)
		}
	}
}

// The runtime has the metric, and it is read once a window.
func TestSaturationReadsTheRuntime(t *testing.T) {
	s := newSaturation()
	now := time.Now()
	s.shortOfCPU(now)
	if len(s.last) == 0 {
		t.Fatalf("no scheduling latencies read: %v", s.sample[0].Value.Kind())
	}
	read := s.at
	s.shortOfCPU(now.Add(saturationWindow / 2))
	if s.at != read {
		t.Error("read again within the window")
	}
}

// The dispatcher wakes for the next arrival no sooner than the batch
// window, nor later than a quarter of the lead of a change of share, and
// stops batching where the window would reach past the schedule's end.
func TestDispatcherWakeAt(t *testing.T) {
	us := time.Microsecond
	sched, err := arrival.New([]arrival.Stage{{Rate: 100}, {Duration: time.Hour, Rate: 100}})
	if err != nil {
		t.Fatal(err)
	}
	om := &openModel{sched: sched, origin: time.Now()}
	end := om.origin.Add(time.Hour)
	for _, c := range []struct {
		name       string
		left       time.Duration // from now to the schedule's end
		due, want  time.Duration // from now
		gap, every time.Duration // every: the window, when the wake-up ends one
	}{
		{"due within the window: the window", time.Minute, 20 * us, 750 * us, 20 * us, 750 * us},
		{"due after the window: then", time.Minute, 900 * us, 900 * us, 20 * us, 0},
		{"far off: a quarter of the share's lead", time.Minute, time.Hour, reshareLead / 4, 0, 0},
		{"the window past the end: the arrival's own time", 700 * us, 100 * us, 100 * us, 20 * us, 0},
		{"the window up to the end: the window", 750 * us, 100 * us, 750 * us, 20 * us, 750 * us},
		{"5,000/s: a window of 1 ms", time.Minute, 200 * us, time.Millisecond, 200 * us, time.Millisecond},
	} {
		now := end.Add(-c.left)
		wake, every := om.wakeAt(now, now.Add(c.due), c.gap)
		if got := wake.Sub(now); got != c.want || every != c.every {
			t.Errorf("%s: wakes after %v, a window of %v; want %v, %v", c.name, got, every, c.want, c.every)
		}
	}
}

// The dispatcher's shortest sleep covers about five arrivals' gap, between
// 750 µs and 1 ms: arrivals further apart than the window are each on time.
func TestBatchWindow(t *testing.T) {
	for _, c := range []struct{ gap, want time.Duration }{
		{0, 750 * time.Microsecond},                      // no arrival after the next
		{20 * time.Microsecond, 750 * time.Microsecond},  // 50,000/s: the floor
		{125 * time.Microsecond, 750 * time.Microsecond}, // 8,000/s: still the floor
		{175 * time.Microsecond, 875 * time.Microsecond}, // 5,714/s
		{200 * time.Microsecond, time.Millisecond},       // 5,000/s: the ceiling
		{10 * time.Millisecond, time.Millisecond},        // 100/s: the next is due later anyway
	} {
		if got := batchWindow(c.gap); got != c.want {
			t.Errorf("gap %v: window %v, want %v", c.gap, got, c.want)
		}
	}
}
