//go:build unix

package output

import "golang.org/x/sys/unix"

// canWrite asks the kernel whether this process may open name for writing,
// without opening it: opening a FIFO would wait for its reader.
func canWrite(name string) error {
	return unix.Access(name, unix.W_OK)
}
