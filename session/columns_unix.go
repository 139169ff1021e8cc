//go:build unix

package session

import "golang.org/x/sys/unix"

// terminalColumns is the terminal's width in columns; 0 when unknown.
func terminalColumns(fd int) int {
	ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
