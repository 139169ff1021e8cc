package http1

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/loadforge/loadforge/internal/clock"
)

// Request is a request prepared for the client.
type Request struct {
	addr string // host:port to dial
	// tls is the configuration of the request's TLS connection; nil for http://.
	tls  *tls.Config
	slot int    // index of addr among the client's addresses: the session's connection for it
	wire []byte // the whole request as sent: request line, headers, body
	head bool   // a HEAD request: its response has no body whatever its headers say
	// close: the request asks the server to close the connection after it.
	close bool
}

// newRequest prepares req, whose body is body, for the client. The request's
// bytes are net/http's own, written once: what a target sees does not depend
// on the client that sent it.
func newRequest(req *http.Request, body []byte) (*Request, error) {
	port := req.URL.Port()
	if port == "" {
		port = defaultPort[req.URL.Scheme]
	}
	fr := &Request{
		addr:  net.JoinHostPort(req.URL.Hostname(), port),
		head:  req.Method == http.MethodHead,
		close: headerHasToken(req.Header, "Connection", "close"),
	}
	out := req.WithContext(context.Background())
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
	}
	var wire bytes.Buffer
	if err := out.Write(&wire); err != nil {
		return nil, fmt.Errorf("request %s %s: %w", req.Method, req.URL, err)
	}
	fr.wire = wire.Bytes()
	return fr, nil
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h[name] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), token) {
				return true
			}
		}
	}
	return false
}

// Client is what the sessions of one run share: how to dial, the addresses
// requests go to, and the connections open now, so that CutOff can fail the
// requests in flight on them. The connections themselves belong to the
// sessions.
type Client struct {
	dial  DialFunc
	addrs []string // by slot: the address, and for TLS the server name
	// tls is the base TLS configuration; tlsByName, one per server name
	// with that name set, made by Prepare.
	tls         *tls.Config
	tlsByName   map[string]*tls.Config
	noKeepAlive bool

	mu   sync.Mutex
	live map[*conn]struct{}
	cut  bool // in-flight requests have been cut off; no new connections
}

// slot returns the slot of addr, adding it if new.
func (f *Client) slot(addr string) int {
	if i := slices.Index(f.addrs, addr); i >= 0 {
		return i
	}
	f.addrs = append(f.addrs, addr)
	return len(f.addrs) - 1
}

// aLongTimeAgo is a deadline that has passed: it fails pending reads and writes at once.
var aLongTimeAgo = time.Unix(1, 0)

// CutOff fails every request in flight, and any connection dialled from now
// on. A request that sets its deadline after this still fails: it checks its
// stop context after setting it, and the caller cancels the stop context
// before calling CutOff.
func (f *Client) CutOff() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = true
	for c := range f.live {
		_ = c.nc.SetDeadline(aLongTimeAgo)
	}
}

// connect dials addr, giving up at deadline or when stopCtx ends, and runs
// the TLS handshake when tlsConfig is not nil. The connection's connectingUs
// is the time the dial took, its tlsUs the handshake's.
func (f *Client) connect(stopCtx context.Context, addr string, tlsConfig *tls.Config, deadline time.Time) (*conn, error) {
	ctx, cancel := context.WithDeadline(stopCtx, deadline)
	defer cancel()
	dialStart := time.Now()
	nc, err := f.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, connectingUs: SpanUs(dialStart, time.Now())}
	if tlsConfig != nil {
		tc, tlsUs, err := handshake(ctx, nc, tlsConfig)
		if err != nil {
			nc.Close()
			return nil, err
		}
		c.nc, c.tlsUs = tc, tlsUs
	}
	c.rr.src = c.nc
	c.initExchange(nc)
	f.mu.Lock()
	cut := f.cut
	if !cut {
		f.live[c] = struct{}{}
	}
	f.mu.Unlock()
	if cut {
		nc.Close()
		return nil, context.Canceled
	}
	return c, nil
}

func (f *Client) release(c *conn) {
	f.mu.Lock()
	delete(f.live, c)
	f.mu.Unlock()
	_ = c.nc.Close()
}

// conn is one kept-alive connection of one session.
type conn struct {
	nc net.Conn
	rr responseReader
	ex rawExchange
	// done is when the connection's last exchange ended; zero for a new one.
	done time.Time
	// connectingUs is how long the dial took, and tlsUs the TLS handshake,
	// reported by the connection's first request only (0 after it).
	connectingUs, tlsUs int64
	// sentAt is when the last byte of the current request was written; zero
	// while it has not been written in full.
	sentAt time.Time
	// readDeadline is the read deadline last set on a raw-exchange
	// connection, the one deadline its requests use: see keepReadDeadline.
	readDeadline time.Time
}

// IdleGap is the pause after which a kept-alive connection is checked, before
// it carries a request, for a close by the server meanwhile (one non-blocking
// peek): a request written on a connection the server has closed is lost,
// and would have to be resent. A connection busier than that is not checked:
// no server times idle connections out that fast, and the check would cost
// a syscall per request. It is longer than the open model's batch window
// (1 ms at most), after which a VU of a steady open-model run is commonly
// reused: at 1 ms, with the window's jitter, 0.4 to 0.65 checks per request
// at 5,000/s.
const IdleGap = 5 * time.Millisecond

// peekState is what an idle connection's socket holds.
type peekState uint8

const (
	peekQuiet  peekState = iota // open, nothing to read
	peekData                    // bytes nobody asked for, or TLS records
	peekClosed                  // end of stream or an error: closed or reset
)

// tlsPeekWait bounds the read that finds out what the records waiting on an
// idle TLS connection are; they are there already, so it seldom waits.
const tlsPeekWait = time.Millisecond

// peerClosed looks, without waiting, whether the server closed (or reset)
// the idle connection, or sent on it unasked: either way it cannot carry a
// request. One non-blocking peek at the TCP socket. On a TLS connection
// waiting bytes are records: a close_notify (closed), but maybe a
// NewSessionTicket the server sent after the handshake, which leaves the
// connection usable; the TLS connection reads them to tell.
func (c *conn) peerClosed() bool {
	switch c.peekIdle() {
	case peekQuiet:
		return false
	case peekClosed:
		return true
	}
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return true // an HTTP/1.1 server that speaks unasked has desynchronised
	}
	if err := tc.SetReadDeadline(time.Now().Add(tlsPeekWait)); err != nil {
		return true
	}
	var b [1]byte
	n, err := tc.Read(b[:])
	if n > 0 || err == nil {
		return true // application data nobody asked for
	}
	// A timeout, once the handshake messages are read, leaves the TLS
	// connection usable (crypto/tls keeps only non-temporary read errors);
	// anything else, io.EOF after a close_notify included, closed it.
	netErr, ok := errors.AsType[net.Error](err)
	return !ok || !netErr.Timeout()
}

// deadlineSlack is how late past its timeout a request on a plain
// connection may fail: 1/64 of the timeout, at most 100 ms (10 s: 100 ms;
// 1 s: 15.6 ms). Within it a connection keeps the read deadline an earlier
// request set, instead of moving it for every request: each move is a
// runtime timer changed under a lock, a few percent of a request's CPU at
// tens of thousands a second.
func deadlineSlack(timeout time.Duration) time.Duration {
	return min(timeout/64, 100*time.Millisecond)
}

// keepReadDeadline makes the read deadline fall in [deadline, deadline+slack]:
// it keeps the one set last when it does, and sets deadline+slack otherwise,
// so that the requests after this one keep it until their own deadlines pass
// it. A deadline CutOff set is in the past: the request fails, as it must.
func (c *conn) keepReadDeadline(deadline time.Time, slack time.Duration) error {
	if kept := c.readDeadline; !kept.Before(deadline) && kept.Sub(deadline) <= slack {
		return nil
	}
	c.readDeadline = deadline.Add(slack)
	return c.nc.SetReadDeadline(c.readDeadline)
}

// roundTrip writes fr's request and reads its response. wrote tells whether
// any byte of the request may have left; c.sentAt (non-zero once the whole
// request is written) and c.rr.firstByte time it. A response that comes while
// the request is still being written (a 413 to a large body) is the request's
// outcome: the rest of the request is not written.
func (c *conn) roundTrip(stopCtx context.Context, fr *Request, deadline time.Time, slack time.Duration) (res response, wrote bool, err error) {
	c.sentAt, c.rr.firstByte = time.Time{}, time.Time{}
	// The raw exchange writes past net.Conn and waits as a read: it needs
	// the read deadline alone (each deadline set is a timer moved), and the
	// write deadline only for a rest that net.Conn writes.
	if c.rawExchange() {
		err = c.keepReadDeadline(deadline, slack)
	} else {
		err = c.nc.SetDeadline(deadline)
	}
	if err != nil {
		return res, false, err
	}
	// After the deadline is set: see CutOff.
	if err := stopCtx.Err(); err != nil {
		return res, false, err
	}
	rest, wrote, err := c.exchange(fr.wire)
	if err != nil {
		return res, wrote, err
	}
	if len(rest) > 0 {
		if c.rawExchange() {
			if err := c.nc.SetWriteDeadline(deadline); err != nil {
				return res, wrote, err
			}
			if err := stopCtx.Err(); err != nil {
				return res, wrote, err
			}
		}
		res, err = c.writeWhileReading(rest, fr.head)
		return res, true, err
	}
	res, err = c.rr.readResponse(fr.head)
	return res, true, err
}

// smallRequest: a request up to this size is written whole before its
// response is read; a larger one is written while the response is read.
const smallRequest = 64 << 10

// writeSmall writes wire if it is small, and returns it otherwise.
func writeSmall(c *conn, wire []byte) (rest []byte, wrote bool, err error) {
	if len(wire) > smallRequest {
		return wire, false, nil
	}
	n, err := c.nc.Write(wire)
	if err != nil {
		return nil, n > 0, err
	}
	c.sentAt = clock.Now()
	return nil, true, nil
}

// writeWhileReading writes the rest of a request that the socket did not
// take at once while it reads the response, as net/http does: a server may
// answer before it has read the whole body, and stop reading.
func (c *conn) writeWhileReading(rest []byte, head bool) (response, error) {
	written := make(chan error, 1)
	go func() {
		_, err := c.nc.Write(rest)
		if err == nil {
			c.sentAt = clock.Now()
		}
		written <- err
	}()
	res, err := c.rr.readResponse(head)
	select {
	case werr := <-written:
		if err != nil && werr != nil && res.status == 0 {
			err = werr // the write broke first: that is the failure
		}
	default:
		// Answered (or failed) before the request was written in full: stop
		// writing. The connection carries half a request: no reuse.
		_ = c.nc.SetWriteDeadline(aLongTimeAgo)
		<-written
		res.keepAlive = false
		if err == nil && c.sentAt.IsZero() {
			c.sentAt = clock.Now() // the server took it as a request and answered
		}
	}
	return res, err
}

// Session is one virtual user's connections, one per address it has sent
// to. A session sends one request at a time; it needs no lock.
type Session struct {
	client *Client
	conns  []*conn // by slot; nil until first used
}

// Do sends fr's request on the session's connection for its address,
// dialling one when there is none, and reads the response to the end. The
// request fails at timeout, or when stopCtx ends (and the client is cut off).
func (s *Session) Do(stopCtx context.Context, fr *Request, timeout time.Duration) Result {
	return s.DoCapture(stopCtx, fr, timeout, nil)
}

// DoCapture is Do keeping what keep asks of the response (nil: nothing).
func (s *Session) DoCapture(stopCtx context.Context, fr *Request, timeout time.Duration, keep *Capture) Result {
	var out Result
	start := clock.Now()
	out.Start = start
	deadline := start.Add(timeout)
	c := s.conn(fr)
	if c != nil && !c.done.IsZero() && start.Sub(c.done) >= IdleGap && c.peerClosed() {
		// The server closed it while it was idle: the request goes on a new
		// connection, never on this one (no request is lost, none resent).
		s.drop(fr.slot)
		c = nil
	}
	if c == nil {
		var err error
		if c, err = s.dial(stopCtx, fr, deadline); err != nil {
			out.End = clock.Now()
			out.Err = err
			return out
		}
	}
	c.rr.keep = keep
	res, wrote, err := c.roundTrip(stopCtx, fr, deadline, deadlineSlack(timeout))
	c.rr.keep = nil
	if err != nil {
		// No resend: a request written on a connection that then failed is
		// one request, failed (the server may have seen it).
		s.drop(fr.slot)
		out.End = clock.Now()
		out.Err = err
		out.Status = res.status // non-zero when the body broke off
		out.BytesIn = res.bytes
		out.Sent = !c.sentAt.IsZero()
		out.Wrote = wrote
		return out
	}
	end := clock.Now()
	if res.keepAlive && !fr.close {
		c.done = end
	} else {
		s.drop(fr.slot)
	}
	out.End = end
	out.Status = res.status
	out.BytesIn = res.bytes
	out.Sent, out.Wrote = true, true
	out.Timing = Timing{
		ConnectingUs: c.connectingUs,
		TLSUs:        c.tlsUs,
		WaitingUs:    SpanUs(c.sentAt, c.rr.firstByte),
		ReceivingUs:  SpanUs(c.rr.firstByte, end),
	}
	c.connectingUs, c.tlsUs = 0, 0 // the next request on it did not dial
	return out
}

// SameAddress reports whether r and o go on the same connection of a session.
func (r *Request) SameAddress(o *Request) bool { return r.slot == o.slot }

// Connect dials the session's connection for fr's address ahead of its
// first request, unless it has one. The dial is no request's: the first
// request on the connection reports no connecting or TLS time, and the
// connection is idle from now on, so that a request after a pause first
// checks that the server has not closed it.
func (s *Session) Connect(stopCtx context.Context, fr *Request, timeout time.Duration) error {
	if s.conn(fr) != nil {
		return nil
	}
	c, err := s.dial(stopCtx, fr, time.Now().Add(timeout))
	if err != nil {
		return err
	}
	c.connectingUs, c.tlsUs = 0, 0
	c.done = time.Now()
	return nil
}

// conn is the session's connection for fr's address; nil when it has none.
func (s *Session) conn(fr *Request) *conn {
	if s.conns == nil {
		s.conns = make([]*conn, len(s.client.addrs))
	}
	return s.conns[fr.slot]
}

// dial opens the session's connection for fr's address, giving up at deadline.
func (s *Session) dial(stopCtx context.Context, fr *Request, deadline time.Time) (*conn, error) {
	c, err := s.client.connect(stopCtx, fr.addr, fr.tls, deadline)
	if err != nil {
		return nil, err
	}
	s.conns[fr.slot] = c
	return c, nil
}

func (s *Session) drop(slot int) {
	if c := s.conns[slot]; c != nil {
		s.client.release(c)
		s.conns[slot] = nil
	}
}

// Close closes every connection of the session; a nil session has none.
func (s *Session) Close() {
	if s == nil {
		return
	}
	for slot := range s.conns {
		s.drop(slot)
	}
}
