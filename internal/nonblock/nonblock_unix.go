//go:build unix && !linux

package nonblock

import "syscall"

// Elsewhere system calls go through the syscall package (on some systems,
// through the C library). Each is made again when a signal interrupts it.

// Write writes b to fd.
func Write(fd uintptr, b []byte) (int, error) {
	return ignoringEINTR(func() (int, error) { return syscall.Write(int(fd), b) })
}

// Read reads into b from fd.
func Read(fd uintptr, b []byte) (int, error) {
	return ignoringEINTR(func() (int, error) { return syscall.Read(int(fd), b) })
}

// Peek reads into b from socket fd without taking the bytes from it.
func Peek(fd uintptr, b []byte) (int, error) {
	return ignoringEINTR(func() (int, error) {
		n, _, err := syscall.Recvfrom(int(fd), b, syscall.MSG_PEEK)
		return n, err
	})
}

func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
