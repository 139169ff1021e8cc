//go:build unix && !linux

package http1

import "syscall"

// Elsewhere system calls go through the syscall package (on some systems,
// through the C library). Each is made again when a signal interrupts it.

func nbWrite(fd uintptr, b []byte) (int, error) {
	return ignoringEINTR(func() (int, error) { return syscall.Write(int(fd), b) })
}

func nbRead(fd uintptr, b []byte) (int, error) {
	return ignoringEINTR(func() (int, error) { return syscall.Read(int(fd), b) })
}

// nbPeek reads into b without taking the bytes from the socket.
func nbPeek(fd uintptr, b []byte) (int, error) {
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
