package worker

import (
	"testing"
	"time"
)

// The precise sleeper never returns before the instant it was given, over
// sleeps from well under the poller's millisecond to tens of them, again and
// again on one timer; an instant already past returns at once; close ends a
// sleep in progress with an error.
func TestPreciseSleeper(t *testing.T) {
	s := newPreciseSleeper()
	if s == nil {
		t.Skip("no timerfd")
	}
	for _, d := range []time.Duration{150 * time.Microsecond, 700 * time.Microsecond, 3 * time.Millisecond, 20 * time.Millisecond} {
		for range 5 {
			due := time.Now().Add(d)
			if err := s.sleepUntil(due); err != nil {
				t.Fatalf("sleep of %v: %v", d, err)
			}
			if now := time.Now(); now.Before(due) {
				t.Fatalf("sleep of %v returned %v early", d, due.Sub(now))
			}
		}
	}
	if err := s.sleepUntil(time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("an instant past: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.sleepUntil(time.Now().Add(time.Hour)) }()
	s.close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a sleep ended by close returned no error")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("close did not end the sleep")
	}
}

// A sleep allocates nothing: the dispatcher sleeps thousands of times a
// second, and what it allocates brings the collector's pauses on sooner.
func TestPreciseSleeperAllocatesNothing(t *testing.T) {
	s := newPreciseSleeper()
	if s == nil {
		t.Skip("no timerfd")
	}
	defer s.close()
	allocs := testing.AllocsPerRun(50, func() {
		if err := s.sleepUntil(time.Now().Add(50 * time.Microsecond)); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > raceAllocs {
		t.Fatalf("a sleep allocates %.1f times", allocs)
	}
}
