package nonblock

import (
	"syscall"
	"time"
	"unsafe"
)

// Write writes b to fd.
func Write(fd uintptr, b []byte) (int, error) { return call(syscall.SYS_WRITE, fd, b, 0) }

// Read reads into b from fd.
func Read(fd uintptr, b []byte) (int, error) { return call(syscall.SYS_READ, fd, b, 0) }

// Peek reads into b from socket fd without taking the bytes from it.
func Peek(fd uintptr, b []byte) (int, error) {
	return call(syscall.SYS_RECVFROM, fd, b, syscall.MSG_PEEK)
}

// call makes system call trap on fd and b: read and write ignore the
// flags, recvfrom takes them (and no source address).
func call(trap, fd uintptr, b []byte, flags uintptr) (int, error) {
	for {
		n, _, e := syscall.RawSyscall6(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), flags, 0, 0)
		switch e {
		case 0:
			return int(n), nil
		case syscall.EINTR:
		default:
			return 0, e
		}
	}
}

// SetTimer arms timerfd fd to expire d from now, and every `every` after
// when that is not 0 (timerfd_settime).
func SetTimer(fd uintptr, d, every time.Duration) error {
	spec := itimerspec{value: syscall.NsecToTimespec(int64(d)), interval: syscall.NsecToTimespec(int64(every))}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0); e != 0 {
		return e
	}
	return nil
}

// itimerspec is struct itimerspec: a period (0: none) and the first expiry.
type itimerspec struct {
	interval, value syscall.Timespec
}
