package clock

import (
	"testing"
	"time"
)

// Now lies between two time.Now readings taken around it, by the monotonic
// clock and by the wall clock (the system clock is not stepped during a test).
func TestNowBetweenTimeNows(t *testing.T) {
	for range 1000 {
		before := time.Now()
		now := Now()
		after := time.Now()
		if now.Before(before) || now.After(after) {
			t.Fatalf("Now %v outside [%v, %v]", now, before, after)
		}
		// The wall readings, without the monotonic ones, within a millisecond
		// (the wall clock may be slewed, not stepped, meanwhile).
		if d := now.Round(0).Sub(before.Round(0)); d < -time.Millisecond || d > after.Round(0).Sub(before.Round(0))+time.Millisecond {
			t.Fatalf("wall time of Now %v, time.Now %v", now.Round(0), before.Round(0))
		}
	}
	if a, b := Now(), Now(); b.Before(a) {
		t.Fatalf("Now went back: %v then %v", a, b)
	}
}

func BenchmarkNow(b *testing.B) {
	for b.Loop() {
		_ = Now()
	}
}

func BenchmarkTimeNow(b *testing.B) {
	for b.Loop() {
		_ = time.Now()
	}
}
