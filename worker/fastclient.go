package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// fastRequest is a request template prepared for the fast client.
type fastRequest struct {
	addr string // host:port to dial
	slot int    // index of addr among the worker's fast addresses: the VU's connection for it
	wire []byte // the whole request as sent: request line, headers, body
	head bool   // a HEAD request: its response has no body whatever its headers say
	// close: the request asks the server to close the connection after it.
	close bool
	// replayable: may be sent again when a kept-alive connection turns out to
	// have been closed by the server (what net/http resends, it resends).
	replayable bool
}

// newFastRequest prepares t for the fast client. The request's bytes are
// net/http's own, written once: what a target sees does not depend on the
// client that sent it.
func newFastRequest(t *requestTemplate) (*fastRequest, error) {
	req := t.tmpl
	port := req.URL.Port()
	if port == "" {
		port = "80"
	}
	fr := &fastRequest{
		addr:       net.JoinHostPort(req.URL.Hostname(), port),
		head:       req.Method == http.MethodHead,
		close:      headerHasToken(req.Header, "Connection", "close"),
		replayable: replayable(req),
	}
	out := req.WithContext(context.Background())
	if t.body != nil {
		out.Body = newBodyReader(t.body)
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

// fastClient is the worker's side of the fast client: how to dial, and the
// connections open now, so that a stop can cut off the requests in flight on
// them. The connections themselves belong to the VUs.
type fastClient struct {
	dial  dialFunc
	addrs []string // by slot

	mu   sync.Mutex
	live map[*fastConn]struct{}
	cut  bool // in-flight requests have been cut off; no new connections
}

func newFastClient() *fastClient {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &fastClient{dial: reservedNameDialer(dialer.DialContext), live: map[*fastConn]struct{}{}}
}

// slot returns the slot of addr, adding it if new.
func (f *fastClient) slot(addr string) int {
	if i := slices.Index(f.addrs, addr); i >= 0 {
		return i
	}
	f.addrs = append(f.addrs, addr)
	return len(f.addrs) - 1
}

// aLongTimeAgo is a deadline that has passed: it fails pending reads and writes at once.
var aLongTimeAgo = time.Unix(1, 0)

// cutOff fails every request in flight on a fast connection, and any connection
// dialled from now on. A request that sets its deadline after this still fails:
// it checks the stop context after setting it, and the stop context is done
// before cutOff runs.
func (f *fastClient) cutOff() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut = true
	for c := range f.live {
		_ = c.nc.SetDeadline(aLongTimeAgo)
	}
}

// connect dials addr for a VU, giving up at deadline or when stopCtx ends.
// The connection's connectingUs is the time the dial took.
func (f *fastClient) connect(stopCtx context.Context, addr string, deadline time.Time) (*fastConn, error) {
	ctx, cancel := context.WithDeadline(stopCtx, deadline)
	defer cancel()
	dialStart := time.Now()
	nc, err := f.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &fastConn{nc: nc, connectingUs: spanUs(dialStart, time.Now())}
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

func (f *fastClient) release(c *fastConn) {
	f.mu.Lock()
	delete(f.live, c)
	f.mu.Unlock()
	_ = c.nc.Close()
}

// fastConn is one kept-alive connection of one VU.
type fastConn struct {
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

// busyGap bounds the pause after which a kept-alive connection is treated
// as possibly closed by the server meanwhile: its next request is written
// and read through net.Conn, whose read finds a close at once. Connections
// busier than that take exchange's one-syscall-less path.
const busyGap = 200 * time.Millisecond

// roundTrip writes fr's request at start and reads its response. wrote tells
// whether any byte of the request may have left; c.sentAt (non-zero once the
// whole request is written) and c.rr.firstByte time it.
func (c *fastConn) roundTrip(stopCtx context.Context, fr *fastRequest, start, deadline time.Time) (res response, wrote bool, err error) {
	c.sentAt, c.rr.firstByte = time.Time{}, time.Time{}
	if err := c.nc.SetDeadline(deadline); err != nil {
		return res, false, err
	}
	// After the deadline is set: see cutOff.
	if err := stopCtx.Err(); err != nil {
		return res, false, err
	}
	if c.done.IsZero() || start.Sub(c.done) < busyGap {
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

// fastSession is one VU's connections of the fast client, one per address it
// has sent to. A VU sends one request at a time, so they need no lock.
type fastSession struct {
	conns []*fastConn // by slot; nil until first used
}

// do sends t's request on the VU's connection for its address, dialling one
// when there is none, and reads the response to the end. It fills the
// outcome as the net/http path does: latency from just before the dial or
// write to the body's end, the timing breakdown (connecting on a request
// that dialled; no TLS here), and unsent for a request a stop cut off before
// it was written in full.
func (s *fastSession) do(w *Worker, stopCtx context.Context, t *requestTemplate) outcome {
	fr := t.fast
	out := outcome{latencyUs: -1, bytesOut: uint64(len(fr.wire))}
	start := time.Now()
	out.start = start
	deadline := start.Add(w.timeout)
	if s.conns == nil {
		s.conns = make([]*fastConn, len(w.fast.addrs))
	}
	for attempt := 0; ; attempt++ {
		c := s.conns[fr.slot]
		if c == nil {
			var err error
			if c, err = w.fast.connect(stopCtx, fr.addr, deadline); err != nil {
				out.end = time.Now()
				out.errKind = classify(stopCtx, err)
				out.unsent = out.errKind == kindCanceled
				out.notSent = exhausted(err)
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
				s.drop(w, fr.slot)
			}
			out.end = end
			out.latencyUs = end.Sub(start).Microseconds()
			out.status = res.status
			out.bytesIn = uint64(res.bytes)
			out.errKind = statusKind(res.status)
			out.timing = timing{
				connectingUs: c.connectingUs,
				waitingUs:    spanUs(c.sentAt, c.rr.firstByte),
				receivingUs:  spanUs(c.rr.firstByte, end),
			}
			c.connectingUs = 0 // the next request on it did not dial
			return out
		}
		s.drop(w, fr.slot)
		kind := classify(stopCtx, err)
		// A kept-alive connection the server had closed fails before any byte
		// of a response comes back: send once more on a fresh one, as net/http
		// does. The request counts once.
		if attempt == 0 && !c.done.IsZero() && res.bytes == 0 && kind == kindReset && (fr.replayable || !wrote) {
			continue
		}
		out.end = time.Now()
		out.errKind = kind
		out.status = res.status // non-zero when the body broke off
		out.bytesIn = uint64(res.bytes)
		// Cut off by a stop before the whole request was written: the target
		// never saw it.
		out.unsent = kind == kindCanceled && c.sentAt.IsZero()
		return out
	}
}

// statusKind is the error kind of a response's status: none below 400.
func statusKind(status int) int {
	switch {
	case status >= 400 && status <= 499:
		return kindHTTP4xx
	case status >= 500 && status <= 599:
		return kindHTTP5xx
	}
	return kindNone
}

func (s *fastSession) drop(w *Worker, slot int) {
	if c := s.conns[slot]; c != nil {
		w.fast.release(c)
		s.conns[slot] = nil
	}
}

// close closes every connection of the session.
func (s *fastSession) close(w *Worker) {
	for slot := range s.conns {
		s.drop(w, slot)
	}
}

// errNoFastClient is returned when a plan asks for the fast client where it cannot go.
var errNoFastClient = errors.New("the fast client sends plain http:// requests only")
