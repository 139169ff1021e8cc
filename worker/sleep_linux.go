//go:build linux

package worker

import (
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/loadforge/loadforge/internal/nonblock"
)

// preciseSleeper sleeps until an instant with two timers at once: a Linux
// timerfd read through the runtime's network poller, which wakes within the
// kernel's timer slack even when the process is idle (Go's own timers then
// wake at whole milliseconds), and the read's deadline, a Go timer, which the
// scheduler checks at every switch when the process is busy. Whichever fires
// first ends the sleep. No thread blocks in a system call meanwhile, so a
// busy process keeps all its threads.
type preciseSleeper struct {
	f   *os.File
	raw syscall.RawConn
	buf [8]byte
	// armed: the timer was just set for a later instant, so the poller's
	// first look needs no read, which would only find nothing yet.
	armed bool
	// readStep is s.expired and armStep s.arm, made once, with arm's
	// argument and result in fields: no allocation per sleep.
	readStep func(fd uintptr) bool
	armStep  func(fd uintptr)
	wait     time.Duration
	armErr   error
	// every is the period the timer was last armed with (0: once), and next
	// its expiry that a sleep last waited for: an expiry read before it was
	// left over by an earlier sleep.
	every time.Duration
	next  time.Time
}

// newPreciseSleeper returns nil when the system has no timerfd; callers then use Go timers.
func newPreciseSleeper() *preciseSleeper {
	const clockMonotonic, tfdNonblock, tfdCloexec = 1, syscall.O_NONBLOCK, syscall.O_CLOEXEC
	fd, _, errno := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno != 0 {
		return nil
	}
	// A non-blocking descriptor becomes a File the runtime polls.
	f := os.NewFile(fd, "timerfd")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	s := &preciseSleeper{f: f, raw: raw}
	s.readStep, s.armStep = s.expired, s.arm
	return s
}

// expired reads the timer's expiry count, straight from the kernel for the
// reason sleepUntil arms it so; false (not yet: wait on the poller) while
// the timer has not fired.
func (s *preciseSleeper) expired(fd uintptr) bool {
	if s.armed {
		s.armed = false
		return false
	}
	if _, err := nonblock.Read(fd, s.buf[:]); err == syscall.EAGAIN {
		return false
	}
	// A periodic timer is not re-armed between sleeps, so an expiry a sleep
	// the deadline ended left behind is read here first: it is consumed, and
	// the sleep goes on to the next.
	return !time.Now().Before(s.next)
}

// arm sets the timer to expire s.wait from now, and every s.every after
// when that is not 0; an error goes to s.armErr. Arming also clears an
// expiry left over from a sleep the deadline ended.
func (s *preciseSleeper) arm(fd uintptr) {
	s.armErr = nonblock.SetTimer(fd, s.wait, s.every)
}

// sleepUntil returns once due has come, or with an error once close was
// called. For a batch window, the dispatcher's sleep of `every` from the
// last wake-up (0: no window), it may end up to every/4 before due: the
// timer is armed to expire every `every`, and a later sleep of the same
// window that its next expiry serves (windowWake) does not arm it again:
// at 5,000 arrivals/s a timerfd_settime took 6–7.5 µs on a virtual machine
// (programming the CPU's timer traps to the hypervisor), 6 % of the CPU per
// request (docs/performance.md, lesson 17).
func (s *preciseSleeper) sleepUntil(due time.Time, every time.Duration) error {
	now := time.Now()
	if !due.After(now) {
		return nil
	}
	wake, reuse := windowWake(s.next, s.every, now, due, every)
	if !reuse {
		s.wait, s.every, s.armErr = due.Sub(now), every, nil
		// Control guards the descriptor against a concurrent close.
		err := s.raw.Control(s.armStep)
		if err = errors.Join(err, s.armErr); err != nil {
			s.every = 0
			return err
		}
	}
	s.next = wake
	if err := s.f.SetReadDeadline(wake); err != nil {
		return err
	}
	// Just armed, the timer has not fired yet: the first look needs no read.
	s.armed = !reuse
	if err := s.raw.Read(s.readStep); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return nil
}

// close ends a sleep in progress and every later one.
func (s *preciseSleeper) close() { s.f.Close() }

// windowWake is when a sleep asked at now to last until due wakes, and
// whether the timer, armed to expire at next and every `armedEvery` after,
// already serves it: for a window sleep (every > 0) of the same period whose
// next expiry after now comes no later than due and at most every/4 before
// it. Otherwise the sleep arms the timer anew, for due.
func windowWake(next time.Time, armedEvery time.Duration, now, due time.Time, every time.Duration) (wake time.Time, reuse bool) {
	// A timer never armed, or armed once, has armedEvery 0.
	if every <= 0 || armedEvery != every {
		return due, false
	}
	if !next.After(now) {
		next = next.Add((now.Sub(next)/every + 1) * every)
	}
	if next.After(due) || due.Sub(next) > every/4 {
		return due, false
	}
	return next, true
}
