package session

import "golang.org/x/sys/windows"

// terminalColumns is the console window's width in columns; 0 when unknown.
func terminalColumns(fd int) int {
	var info windows.ConsoleScreenBufferInfo
	if err := windows.GetConsoleScreenBufferInfo(windows.Handle(fd), &info); err != nil {
		return 0
	}
	return int(info.Window.Right-info.Window.Left) + 1
}
