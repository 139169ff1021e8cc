//go:build unix

package http1

import (
	"io"
	"net"
	"os"
	"syscall"

	"github.com/loadforge/loadforge/internal/clock"
	"github.com/loadforge/loadforge/internal/nonblock"
)

// rawExchange is a connection's state for sending a request and reading the
// first bytes of its response in one pass through the poller.
type rawExchange struct {
	conn    syscall.RawConn
	step    func(fd uintptr) bool // c.exchangeStep, made once: no allocation per request
	pending []byte                // request bytes not written yet
	sent    int
	err     error
	// tcp is the TCP socket under the connection (under TLS too), for the
	// idle check; peek is c.peekStep, made once; peekBuf its one byte;
	// peeked its finding.
	tcp     syscall.RawConn
	peek    func(fd uintptr) bool
	peekBuf [1]byte
	peeked  peekState
}

// initExchange prepares the connection's raw paths. tcp is the TCP
// connection c.nc runs on: c.nc itself for http://, under TLS the socket the
// records travel on (the exchange then goes through the TLS connection).
func (c *conn) initExchange(tcp net.Conn) {
	sc, ok := tcp.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.ex.tcp = raw
	c.ex.peek = c.peekStep
	if tcp == c.nc {
		c.ex.conn = raw
		c.ex.step = c.exchangeStep
	}
}

// rawExchange reports whether exchange writes and waits on the socket itself.
func (c *conn) rawExchange() bool { return c.ex.conn != nil }

// peekIdle looks, without waiting, at what an idle connection's socket holds.
func (c *conn) peekIdle() peekState {
	if c.ex.tcp == nil {
		return peekQuiet
	}
	c.ex.peeked = peekQuiet
	if err := c.ex.tcp.Read(c.ex.peek); err != nil {
		return peekClosed
	}
	return c.ex.peeked
}

func (c *conn) peekStep(fd uintptr) bool {
	// The socket is non-blocking (the runtime's poller owns it): EAGAIN is "open, nothing to read".
	n, err := nonblock.Peek(fd, c.ex.peekBuf[:])
	switch {
	case err == syscall.EAGAIN:
		c.ex.peeked = peekQuiet
	case err == nil && n > 0:
		c.ex.peeked = peekData
	default: // EOF (0) or an error such as a reset
		c.ex.peeked = peekClosed
	}
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
// while it reads the response; wrote tells whether any byte may have left.
// A TLS connection goes through writeSmall.
func (c *conn) exchange(wire []byte) (rest []byte, wrote bool, err error) {
	if c.ex.conn == nil {
		return writeSmall(c, wire)
	}
	c.ex.pending, c.ex.sent, c.ex.err = wire, 0, nil
	err = c.ex.conn.Read(c.ex.step)
	wrote = c.ex.sent > 0
	if err == nil {
		err = c.ex.err
	}
	rest = c.ex.pending
	c.ex.pending = nil
	return rest, wrote, err
}

// exchangeStep runs inside the poller's read loop, which calls it again each
// time the socket becomes readable, until it returns true. It never returns
// false while a response byte may be waiting: the poller reports only bytes
// arriving after its wait was armed.
func (c *conn) exchangeStep(fd uintptr) bool {
	ex := &c.ex
	if len(ex.pending) > 0 {
		n, err := nonblock.Write(fd, ex.pending)
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
		c.sentAt = clock.Now()
		return false // written; wait for the response
	}
	rr := &c.rr
	if rr.buf == nil {
		rr.buf = make([]byte, readBufferSize)
	}
	n, err := nonblock.Read(fd, rr.buf[rr.w:])
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
			rr.firstByte = clock.Now()
		}
	}
	return true
}

func (c *conn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: err}
}
