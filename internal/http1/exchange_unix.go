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
}

func (c *conn) initExchange() {
	if sc, ok := c.nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.ex.conn = raw
			c.ex.step = c.exchangeStep
		}
	}
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
func (c *conn) exchange(wire []byte) (wrote bool, err error) {
	if c.ex.conn == nil {
		n, err := c.nc.Write(wire)
		if err == nil {
			c.sentAt = time.Now()
		}
		return n > 0, err
	}
	c.ex.pending, c.ex.sent, c.ex.err = wire, 0, nil
	err = c.ex.conn.Read(c.ex.step)
	wrote = c.ex.sent > 0
	if err == nil {
		err = c.ex.err
	}
	if err == nil && len(c.ex.pending) > 0 {
		// The socket took part of a large request: the rest the usual way.
		var n int
		n, err = c.nc.Write(c.ex.pending)
		wrote = wrote || n > 0
		if err == nil {
			c.sentAt = time.Now()
		}
	}
	c.ex.pending = nil
	return wrote, err
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
