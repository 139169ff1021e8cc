package http1

import (
	"syscall"
	"unsafe"
)

// The socket calls of the exchange and the idle check never block: the
// runtime's poller owns the socket, so it is non-blocking. They go straight
// to the kernel, not through syscall.Read and Write: those tell the Go
// scheduler a blocking call begins (entersyscall), and on a process that was
// idle that wakes the runtime's monitor thread, which then runs and sleeps
// again. At an open model's tens of thousands of requests a second that
// doubled the process's context switches and cost a quarter of its CPU per
// request (docs/performance.md). Each call is made again when a signal
// interrupts it (EINTR).

func nbWrite(fd uintptr, b []byte) (int, error) { return nbCall(syscall.SYS_WRITE, fd, b, 0) }

func nbRead(fd uintptr, b []byte) (int, error) { return nbCall(syscall.SYS_READ, fd, b, 0) }

// nbPeek reads into b without taking the bytes from the socket.
func nbPeek(fd uintptr, b []byte) (int, error) {
	return nbCall(syscall.SYS_RECVFROM, fd, b, syscall.MSG_PEEK)
}

// nbCall makes system call trap on fd and b: read and write ignore the
// flags, recvfrom takes them (and no source address).
func nbCall(trap, fd uintptr, b []byte, flags uintptr) (int, error) {
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
