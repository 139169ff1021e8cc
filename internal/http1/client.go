package http1

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Request is a request prepared for the client.
type Request struct {
	addr string // host:port to dial
	slot int    // index of addr among the client's addresses: the session's connection for it
	wire []byte // the whole request as sent: request line, headers, body
	head bool   // a HEAD request: its response has no body whatever its headers say
	// close: the request asks the server to close the connection after it.
	close bool
	// replayable: may be sent again when a kept-alive connection turns out to
	// have been closed by the server (what net/http resends, it resends).
	replayable bool
}

// newRequest prepares req, whose body is body, for the client. The request's
// bytes are net/http's own, written once: what a target sees does not depend
// on the client that sent it.
func newRequest(req *http.Request, body []byte) (*Request, error) {
	port := req.URL.Port()
	if port == "" {
		port = "80"
	}
	fr := &Request{
		addr:       net.JoinHostPort(req.URL.Hostname(), port),
		head:       req.Method == http.MethodHead,
		close:      headerHasToken(req.Header, "Connection", "close"),
		replayable: replayable(req),
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

// replayable is net/http's rule for resending a request on a fresh connection.
func replayable(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := req.Header["Idempotency-Key"]
	_, xkey := req.Header["X-Idempotency-Key"]
	return key || xkey
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
	addrs []string // by slot

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

// connect dials addr, giving up at deadline or when stopCtx ends. The
// connection's connectingUs is the time the dial took.
func (f *Client) connect(stopCtx context.Context, addr string, deadline time.Time) (*conn, error) {
	ctx, cancel := context.WithDeadline(stopCtx, deadline)
	defer cancel()
	dialStart := time.Now()
	nc, err := f.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, connectingUs: spanUs(dialStart, time.Now())}
	c.rr.src = nc
	c.initExchange()
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
	// A failure before any byte of a response on a connection that has
	// carried one may just be the server closing it while it was idle.
	done time.Time
	// connectingUs is how long the dial took, reported by the connection's
	// first request only (0 after it).
	connectingUs int64
	// sentAt is when the last byte of the current request was written; zero
	// while it has not been written in full.
	sentAt time.Time
}

// BusyGap bounds the pause after which a kept-alive connection is treated
// as possibly closed by the server meanwhile: its next request is written
// and read through net.Conn, whose read finds a close at once. Connections
// busier than that take exchange's one-syscall-less path.
const BusyGap = 200 * time.Millisecond

// roundTrip writes fr's request at start and reads its response. wrote tells
// whether any byte of the request may have left; c.sentAt (non-zero once the
// whole request is written) and c.rr.firstByte time it.
func (c *conn) roundTrip(stopCtx context.Context, fr *Request, start, deadline time.Time) (res response, wrote bool, err error) {
	c.sentAt, c.rr.firstByte = time.Time{}, time.Time{}
	if err := c.nc.SetDeadline(deadline); err != nil {
		return res, false, err
	}
	// After the deadline is set: see CutOff.
	if err := stopCtx.Err(); err != nil {
		return res, false, err
	}
	if c.done.IsZero() || start.Sub(c.done) < BusyGap {
		wrote, err = c.exchange(fr.wire)
	} else {
		var n int
		n, err = c.nc.Write(fr.wire)
		wrote = n > 0
		if err == nil {
			c.sentAt = time.Now()
		}
	}
	if err != nil {
		return res, wrote, err
	}
	res, err = c.rr.readResponse(fr.head)
	return res, true, err
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
	var out Result
	start := time.Now()
	out.Start = start
	deadline := start.Add(timeout)
	if s.conns == nil {
		s.conns = make([]*conn, len(s.client.addrs))
	}
	for attempt := 0; ; attempt++ {
		c := s.conns[fr.slot]
		if c == nil {
			var err error
			if c, err = s.client.connect(stopCtx, fr.addr, deadline); err != nil {
				out.End = time.Now()
				out.Err = err
				return out
			}
			s.conns[fr.slot] = c
		}
		res, wrote, err := c.roundTrip(stopCtx, fr, start, deadline)
		if err == nil {
			end := time.Now()
			if res.keepAlive && !fr.close {
				c.done = end
			} else {
				s.drop(fr.slot)
			}
			out.End = end
			out.Status = res.status
			out.BytesIn = res.bytes
			out.Sent = true
			out.Timing = Timing{
				ConnectingUs: c.connectingUs,
				WaitingUs:    spanUs(c.sentAt, c.rr.firstByte),
				ReceivingUs:  spanUs(c.rr.firstByte, end),
			}
			c.connectingUs = 0 // the next request on it did not dial
			return out
		}
		s.drop(fr.slot)
		// A kept-alive connection the server had closed fails before any byte
		// of a response comes back: send once more on a fresh one, as net/http
		// does. The request counts once.
		if attempt == 0 && !c.done.IsZero() && res.bytes == 0 && closedByPeer(stopCtx, err) && (fr.replayable || !wrote) {
			continue
		}
		out.End = time.Now()
		out.Err = err
		out.Status = res.status // non-zero when the body broke off
		out.BytesIn = res.bytes
		out.Sent = !c.sentAt.IsZero()
		return out
	}
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
