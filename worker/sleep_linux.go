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
	_, err := nonblock.Read(fd, s.buf[:])
	return err != syscall.EAGAIN
}

// arm sets the timer to expire s.wait from now; an error goes to s.armErr.
// Arming also clears an expiry left over from a sleep the deadline ended.
func (s *preciseSleeper) arm(fd uintptr) {
	s.armErr = nonblock.SetTimer(fd, s.wait)
}

// sleepUntil returns once due has come, or with an error once close was called.
func (s *preciseSleeper) sleepUntil(due time.Time) error {
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	s.wait, s.armErr = d, nil
	// Control guards the descriptor against a concurrent close.
	err := s.raw.Control(s.armStep)
	if err = errors.Join(err, s.armErr); err != nil {
		return err
	}
	if err := s.f.SetReadDeadline(due); err != nil {
		return err
	}
	s.armed = true
	if err := s.raw.Read(s.readStep); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return nil
}

// close ends a sleep in progress and every later one.
func (s *preciseSleeper) close() { s.f.Close() }
