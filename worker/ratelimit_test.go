package worker

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The limiter's slots, given the instants requests ask for them: no clock.
func TestLimiterSlots(t *testing.T) {
	// Wall-clock instants, as a scale command carries them. An instant with a
	// monotonic reading would be mapped onto the limiter's reference a few ns
	// off, and tip the asks that fall exactly on a slot boundary.
	t0 := time.Unix(0, time.Now().UnixNano())
	at := func(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }
	cases := []struct {
		name  string
		rate  float64
		end   float64 // ms after t0; 0: none
		asks  []float64
		slots []float64 // -1: refused
	}{
		{
			// Waiting VUs take successive slots, however early they ask.
			name: "ten VUs at once", rate: 500,
			asks:  []float64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			slots: []float64{0, 2, 4, 6, 8, 10, 12, 14, 16, 18},
		},
		{
			// A stall shorter than catchUp: the missed slots go at once.
			name: "a short stall", rate: 100,
			asks:  []float64{0, 50, 50, 50, 50, 50, 50},
			slots: []float64{0, 10, 20, 30, 40, 50, 60},
		},
		{
			// Nobody asked for longer: the grid restarts, no burst.
			name: "idle, then asking again", rate: 100,
			asks:  []float64{0, 500, 500, 500},
			slots: []float64{0, 500, 510, 520},
		},
		{
			// Slower than a slot of 1 s: each request goes when it asks.
			// Missed slots are skipped, not saved up: the grid stays aligned so
			// that no second ever holds more than the cap.
			name: "a cap above the demand", rate: 1,
			asks:  []float64{0, 2500, 5000, 7200},
			slots: []float64{0, 3000, 4000, 8000},
		},
		{
			name: "nothing at or after the end", rate: 1000, end: 3,
			asks:  []float64{0, 0, 0, 0, 5},
			slots: []float64{0, 1, 2, -1, -1},
		},
		{
			name: "fractional rate", rate: 3,
			asks:  []float64{0, 0, 0, 0},
			slots: []float64{0, 1000.0 / 3, 2000.0 / 3, 1000},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newRequestLimiter(c.rate)
			l.start(t0)
			if c.end > 0 {
				l.setEnd(at(c.end))
			}
			for i, ask := range c.asks {
				slot, ok := l.reserve(at(ask))
				switch {
				case c.slots[i] < 0 && ok:
					t.Errorf("ask %d at %vms: slot %v, want refused", i, ask, slot.Sub(t0))
				case c.slots[i] >= 0 && (!ok || absDur(slot.Sub(at(c.slots[i]))) > time.Microsecond):
					t.Errorf("ask %d at %vms: slot %v (%v), want %vms", i, ask, slot.Sub(t0), ok, c.slots[i])
				}
			}
		})
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// 10 VUs under a 500/s cap for 4 s, each asking again as soon as its request
// (1 ms) is done: exactly 2000 slots, the last before the end.
func TestLimiterExactOverARun(t *testing.T) {
	t0 := time.Unix(0, time.Now().UnixNano()) // wall clock, as in TestLimiterSlots
	l := newRequestLimiter(500)
	l.start(t0)
	l.setEnd(t0.Add(4 * time.Second))
	asks := make([]time.Time, 10) // each VU's next ask
	for i := range asks {
		asks[i] = t0
	}
	admitted := 0
	for len(asks) > 0 {
		i := 0 // the VU that asks first reserves first
		for j := range asks {
			if asks[j].Before(asks[i]) {
				i = j
			}
		}
		slot, ok := l.reserve(asks[i])
		if !ok {
			asks = append(asks[:i], asks[i+1:]...) // this VU now waits for its stop
			continue
		}
		admitted++
		if slot.Before(asks[i]) {
			slot = asks[i]
		}
		asks[i] = slot.Add(time.Millisecond)
	}
	if admitted != 2000 {
		t.Errorf("admitted %d requests, want 2000", admitted)
	}
}

// A VU that finds no slot left waits for its stop rather than spinning.
func TestLimiterWaitPastTheEnd(t *testing.T) {
	l := newRequestLimiter(1000)
	l.start(time.Now().Add(-time.Hour))
	l.setEnd(time.Now().Add(-time.Minute))
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- l.wait(context.Background(), stop) }()
	select {
	case err := <-done:
		t.Fatalf("wait returned %v before the stop", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(stop)
	select {
	case err := <-done:
		if !errors.Is(err, errLimitEnded) {
			t.Errorf("wait: %v, want errLimitEnded", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("wait did not return after the stop")
	}
}

// BenchmarkLimiterWait is one request's wait for its slot, 50 VUs per core
// sharing a limit well above what they reach, so that most waits are short
// sleeps: the limiter's own cost per request.
func BenchmarkLimiterWait(b *testing.B) {
	l := newRequestLimiter(2e6)
	l.start(time.Now())
	stop := make(chan struct{})
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(50)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := l.wait(ctx, stop); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
