//go:build !unix && !windows

package session

// terminalColumns cannot ask the terminal here: the width stays unknown.
func terminalColumns(int) int { return 0 }
