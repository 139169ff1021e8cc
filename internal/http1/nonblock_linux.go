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
// request (docs/performance.md).

func nbWrite(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func nbRead(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// nbPeek reads into b without taking the bytes from the socket (MSG_PEEK).
func nbPeek(fd uintptr, b []byte) (int, error) {
	n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), syscall.MSG_PEEK, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
