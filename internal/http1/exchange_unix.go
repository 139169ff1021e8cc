//go:build unix

package http1

import (
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// rawExchange is a connection's state for sending a request and reading the
// first bytes of its response in one pass through the poller.
type rawExchange struct {
	conn    syscall.RawConn
	step    func(fd uintptr) bool // c.exchangeStep, made once: no allocation per request
	pending []byte                // request bytes not written yet
	sent    int
	err     error
	// peek is c.peekStep, made once; peekBuf its one byte; closed its finding.
	peek    func(fd uintptr) bool
	peekBuf [1]byte
	closed  bool
}

func (c *conn) initExchange() {
	if sc, ok := c.nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.ex.conn = raw
			c.ex.step = c.exchangeStep
			c.ex.peek = c.peekStep
		}
	}
}

// peerClosed looks, without waiting, whether the server closed (or reset)
// the idle connection, or sent on it unasked: either way it cannot carry a
// request. One non-blocking peek.
func (c *conn) peerClosed() bool {
	if c.ex.conn == nil {
		return false
	}
	c.ex.closed = false
	if err := c.ex.conn.Read(c.ex.peek); err != nil {
		return true
	}
	return c.ex.closed
}

func (c *conn) peekStep(fd uintptr) bool {
	// The socket is non-blocking (the runtime's poller owns it): EAGAIN is "open, nothing to read".
	n, _, err := syscall.Recvfrom(int(fd), c.ex.peekBuf[:], syscall.MSG_PEEK)
	for err == syscall.EINTR {
		n, _, err = syscall.Recvfrom(int(fd), c.ex.peekBuf[:], syscall.MSG_PEEK)
	}
	_ = n // EOF (0), unasked bytes (>0) or an error: closed either way
	c.ex.closed = err != syscall.EAGAIN
	return true
}

// exchange writes wire and reads what has come of the response. Going through
// net.Conn, the read after the write would nearly always find nothing yet,
// and cost a syscall before the goroutine parks. Here the wait for the
// response is armed before the write, so the goroutine parks right after it,
// and the read runs once the response is there: a write and a read per
// request, as an event loop in C does it. The wait sees only what happens
// after it is armed, so a close by the server before that goes unseen until
// the server answers the write with a reset: roundTrip keeps this path for
// connections in steady use.
//
// What the socket did not take at once is returned, for the caller to write
// while it reads the response.
func (c *conn) exchange(wire []byte) (rest []byte, err error) {
	if c.ex.conn == nil {
		return writeSmall(c, wire)
	}
	c.ex.pending, c.ex.sent, c.ex.err = wire, 0, nil
	err = c.ex.conn.Read(c.ex.step)
	if err == nil {
		err = c.ex.err
	}
	rest = c.ex.pending
	c.ex.pending = nil
	return rest, err
}

// exchangeStep runs inside the poller's read loop, which calls it again each
// time the socket becomes readable, until it returns true. It never returns
// false while a response byte may be waiting: the poller reports only bytes
// arriving after its wait was armed.
func (c *conn) exchangeStep(fd uintptr) bool {
	ex := &c.ex
	if len(ex.pending) > 0 {
		n, err := ignoringEINTR(func() (int, error) { return syscall.Write(int(fd), ex.pending) })
		if n > 0 {
			ex.sent += n
			ex.pending = ex.pending[n:]
		}
		switch {
		case err != nil && err != syscall.EAGAIN:
			ex.err = c.opError("write", os.NewSyscallError("write", err))
			return true
		case len(ex.pending) > 0:
			return true // the rest goes through net.Conn, which waits for room
		}
		c.sentAt = time.Now()
		return false // written; wait for the response
	}
	rr := &c.rr
	if rr.buf == nil {
		rr.buf = make([]byte, readBufferSize)
	}
	n, err := ignoringEINTR(func() (int, error) { return syscall.Read(int(fd), rr.buf[rr.w:]) })
	switch {
	case err == syscall.EAGAIN:
		return false // woken early: nothing yet
	case err != nil:
		ex.err = c.opError("read", os.NewSyscallError("read", err))
	case n == 0:
		ex.err = io.EOF
	default:
		rr.w += n
		if rr.firstByte.IsZero() {
			rr.firstByte = time.Now()
		}
	}
	return true
}

func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: err}
}

func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
