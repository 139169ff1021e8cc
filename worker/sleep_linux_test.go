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
			if err := s.sleepUntil(due, 0); err != nil {
				t.Fatalf("sleep of %v: %v", d, err)
			}
			if now := time.Now(); now.Before(due) {
				t.Fatalf("sleep of %v returned %v early", d, due.Sub(now))
			}
		}
	}
	if err := s.sleepUntil(time.Now().Add(-time.Second), 0); err != nil {
		t.Fatalf("an instant past: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.sleepUntil(time.Now().Add(time.Hour), 0) }()
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
	s := testSleeper(t)
	allocs := testing.AllocsPerRun(50, func() {
		if err := s.sleepUntil(time.Now().Add(50*time.Microsecond), 0); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > raceAllocs {
		t.Fatalf("a sleep allocates %.1f times", allocs)
	}
}

// A window sleep reuses the timer armed for the last one when its next
// expiry comes no later than the sleep's end and at most a quarter window
// before it, counting the expiries that passed meanwhile; a sleep of
// another length, or one the next expiry would cut short by more, or the
// first, arms the timer anew for its own end.
func TestWindowWake(t *testing.T) {
	us := time.Microsecond
	base := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return base.Add(d) }
	w := 500 * us
	for _, c := range []struct {
		name       string
		next       time.Time // the expiry the last sleep waited for
		armedEvery time.Duration
		now, due   time.Duration
		every      time.Duration
		want       time.Duration
		reuse      bool
	}{
		{"woken on time: the next expiry is the window's end", at(0), w, 10 * us, 510 * us, w, 500 * us, true},
		{"woken 100 µs late: 100 µs early, within a quarter", at(0), w, 100 * us, 600 * us, w, 500 * us, true},
		{"woken 200 µs late: armed anew", at(0), w, 200 * us, 700 * us, w, 700 * us, false},
		{"expiries passed meanwhile are counted", at(0), w, 1020 * us, 1520 * us, w, 1500 * us, true},
		{"another window: armed anew", at(0), w, 10 * us, 1010 * us, time.Millisecond, 1010 * us, false},
		{"not a window: armed once, for due", at(0), w, 10 * us, 400 * us, 0, 400 * us, false},
		{"armed once before: armed anew", at(0), 0, 10 * us, 510 * us, w, 510 * us, false},
		{"the first sleep: armed", time.Time{}, 0, 10 * us, 510 * us, w, 510 * us, false},
		{"a shorter sleep the next expiry would overrun: armed anew", at(0), w, 10 * us, 300 * us, w, 300 * us, false},
	} {
		wake, reuse := windowWake(c.next, c.armedEvery, at(c.now), at(c.due), c.every)
		if got := wake.Sub(base); got != c.want || reuse != c.reuse {
			t.Errorf("%s: wakes at %v (reuse %v), want %v (%v)", c.name, got, reuse, c.want, c.reuse)
		}
	}
}

// Window sleeps one after another never end more than a quarter window
// before their end, also when a left-over expiry is pending.
func TestPreciseSleeperWindows(t *testing.T) {
	s := testSleeper(t)
	const w = 500 * time.Microsecond
	for i := range 40 {
		due := time.Now().Add(w)
		if err := s.sleepUntil(due, w); err != nil {
			t.Fatalf("sleep %d: %v", i, err)
		}
		if early := time.Until(due); early > w/4 {
			t.Fatalf("sleep %d ended %v before its end", i, early)
		}
		if i%10 == 9 {
			// A busy spell: expiries pass unread.
			time.Sleep(3 * w)
		}
	}
}

// A window sleep that reuses the timer does not end at an expiry an earlier
// sleep left unread (the process was busy through it), but at its own.
func TestPreciseSleeperSkipsLeftOverExpiries(t *testing.T) {
	s := testSleeper(t)
	const w = 10 * time.Millisecond
	for range 5 {
		if err := s.sleepUntil(time.Now().Add(w), w); err != nil {
			t.Fatal(err)
		}
		first := s.next
		// The expiry a window after first passes unread; the next sleep
		// ends an eighth of a window after the expiry after that.
		time.Sleep(time.Until(first.Add(w + w/4)))
		if time.Now().After(first.Add(2*w - w/4)) {
			continue // overslept on a busy machine: the timer is armed anew
		}
		due := first.Add(2*w + w/8)
		if err := s.sleepUntil(due, w); err != nil {
			t.Fatal(err)
		}
		if !s.next.Equal(first.Add(2 * w)) {
			t.Fatalf("the timer was armed anew (next expiry %v after the first), want it reused", s.next.Sub(first))
		}
		if early := time.Until(due); early > w/4 {
			t.Fatalf("the sleep ended %v before its end: at the left-over expiry", early)
		}
		return
	}
	t.Skip("the machine overslept every attempt")
}

// testSleeper is a precise sleeper closed when the test ends; the test is
// skipped where the system has no timerfd.
func testSleeper(t *testing.T) *preciseSleeper {
	t.Helper()
	s := newPreciseSleeper()
	if s == nil {
		t.Skip("no timerfd")
	}
	t.Cleanup(s.close)
	return s
}
