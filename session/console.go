package session

import (
	"io"
	"os"
	"sync"
	"unicode/utf8"
)

// Console is the run's stderr, shared by the live progress line and
// everything else written there (logs, notes): one lock orders them, and on
// a terminal a line written by anyone else first clears the progress line,
// which is drawn again below it. So no log line is ever glued to it.
//
// Give the same Console to the logger's handler (it is an io.Writer: each
// slog record is one Write) and to the session as Config.Stderr.
type Console struct {
	mu       sync.Mutex
	w        io.Writer
	fd       int // the terminal's descriptor; -1 when w is no terminal
	status   string
	showing  bool // status is on screen, without its newline
	lastSize int  // the terminal's width when it was last asked
}

// NewConsole wraps w (usually os.Stderr).
func NewConsole(w io.Writer) *Console {
	c := &Console{w: w, fd: -1}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			c.fd = int(f.Fd())
		}
	}
	return c
}

// Terminal reports whether the console is a terminal (the progress line is
// then redrawn in place).
func (c *Console) Terminal() bool { return c.fd >= 0 }

// Write writes whole lines (a log record, a note) above the progress line.
func (c *Console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.showing {
		if _, err := io.WriteString(c.w, "\r\x1b[K"); err != nil {
			return 0, err
		}
	}
	n, err := c.w.Write(p)
	if err != nil {
		return n, err
	}
	if c.showing {
		if len(p) > 0 && p[len(p)-1] != '\n' {
			_, _ = io.WriteString(c.w, "\n")
		}
		_, err = io.WriteString(c.w, c.fit(c.status))
	}
	return n, err
}

// setStatus shows line as the progress line: in place on a terminal, as a
// line of its own otherwise (CI logs keep every one).
func (c *Console) setStatus(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		_, _ = io.WriteString(c.w, line+"\n")
		return
	}
	c.status = line
	_, _ = io.WriteString(c.w, "\r\x1b[K"+c.fit(line))
	c.showing = true
}

// keepStatus ends the progress line where it is: the last one drawn stays
// on screen, and what follows starts on the next line.
func (c *Console) keepStatus() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.showing {
		_, _ = io.WriteString(c.w, "\n")
		c.showing = false
	}
}

// fit cuts line to the terminal's width: a line that wrapped could not be
// cleared with one carriage return.
func (c *Console) fit(line string) string {
	if c.fd < 0 {
		return line
	}
	if cols := terminalColumns(c.fd); cols > 0 {
		c.lastSize = cols
	}
	width := c.lastSize - 1
	if width <= 0 || utf8.RuneCountInString(line) <= width {
		return line
	}
	i, n := 0, 0
	for i < len(line) && n < width {
		_, size := utf8.DecodeRuneInString(line[i:])
		i += size
		n++
	}
	return line[:i]
}
