//go:build unix && !linux

package http1

import "syscall"

// Elsewhere system calls go through the syscall package (on some systems,
// through the C library).

func nbWrite(fd uintptr, b []byte) (int, error) { return syscall.Write(int(fd), b) }

func nbRead(fd uintptr, b []byte) (int, error) { return syscall.Read(int(fd), b) }

func nbPeek(fd uintptr, b []byte) (int, error) {
	n, _, err := syscall.Recvfrom(int(fd), b, syscall.MSG_PEEK)
	return n, err
}
