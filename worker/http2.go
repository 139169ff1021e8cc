package worker

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"time"

	"github.com/loadforge/loadforge/internal/http1"
)

// h2Client sends HTTP/2 requests, each VU on connections of its own (one per
// address), as the fast client does with HTTP/1.1: N VUs are N connections,
// not N streams on one. Each connection is net/http's ClientConn, made by
// Transport.NewClientConn outside the transport's pool.
type h2Client struct {
	tr    *http.Transport // HTTP/2 over TLS, and h2c with prior knowledge over plain http
	addrs []h2Addr        // by slot
	// noKeepAlive closes each connection after its request.
	noKeepAlive bool
}

type h2Addr struct{ scheme, addr string }

// h2Request is a request template's place among the client's addresses.
type h2Request struct{ slot int }

func newH2Client(tlsConfig *tls.Config, noKeepAlive bool) *h2Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	dial := reservedNameDialer(dialer.DialContext)
	// The dial's duration is the connecting time of the request that opened
	// the connection; the rest of NewClientConn is the handshake.
	timed := func(ctx context.Context, network, addr string) (net.Conn, error) {
		start := time.Now()
		c, err := dial(ctx, network, addr)
		if d, ok := ctx.Value(dialTimeKey{}).(*h2Dial); ok && err == nil {
			d.us = http1.SpanUs(start, time.Now())
		}
		return c, err
	}
	// Each connection counts the bytes read on it, HTTP/2 frames (over TLS
	// the records' contents): a VU's connection carries its requests one at
	// a time, so what it read since the previous request is this one's.
	counted := func(dial dialFunc) dialFunc {
		return func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			if wc, ok := c.(*wireConn); ok {
				if d, ok := ctx.Value(dialTimeKey{}).(*h2Dial); ok {
					d.wire = wc
				}
			}
			return c, err
		}
	}
	tr := &http.Transport{
		Proxy:       nil,
		DialContext: counted(countWrites(timed)),
		// Given a connection that is not a *tls.Conn, the transport speaks
		// HTTP/2 with prior knowledge over it: the handshake agreed on h2.
		// A server that did not is spoken to as it agreed, uncounted.
		DialTLSContext: counted(dialTLSCounted(timed, tlsConfig, tlsHandshakeTimeout, []string{"h2", "http/1.1"},
			func(proto string) bool { return proto == "h2" })),
		DisableCompression: true,
		Protocols:          new(http.Protocols),
	}
	tr.Protocols.SetHTTP2(true)
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &h2Client{tr: tr, noKeepAlive: noKeepAlive}
}

type dialTimeKey struct{}

// h2Dial is what a connection's dial tells connect: how long the TCP connect
// took, and the connection's byte counts (nil: not counted).
type h2Dial struct {
	us   int64
	wire *wireConn
}

// prepare returns t's place among the client's addresses.
func (c *h2Client) prepare(req *http.Request) *h2Request {
	port := req.URL.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[req.URL.Scheme]
	}
	a := h2Addr{scheme: req.URL.Scheme, addr: net.JoinHostPort(req.URL.Hostname(), port)}
	i := slices.Index(c.addrs, a)
	if i < 0 {
		i = len(c.addrs)
		c.addrs = append(c.addrs, a)
	}
	return &h2Request{slot: i}
}

// h2Session is one VU's HTTP/2 connections, by slot. A VU sends one request
// at a time; it needs no lock.
type h2Session struct {
	conns []*h2Conn
}

type h2Conn struct {
	cc *http.ClientConn
	// connectingUs and tlsUs time the connection's opening, reported by its
	// first request only.
	connectingUs, tlsUs int64
	// wire counts the bytes read on the connection (nil: not counted); taken
	// is how many of them requests have counted so far.
	wire  *wireConn
	taken uint64
}

// takeRead is what the connection read since the last request took its
// bytes: the frames of this request's response, and the connection's own
// frames (SETTINGS, WINDOW_UPDATE, PING) that came with them; false when the
// connection does not count.
func (c *h2Conn) takeRead() (uint64, bool) {
	if c.wire == nil {
		return 0, false
	}
	n := c.wire.read.Load()
	d := n - c.taken
	c.taken = n
	return d, true
}

// close closes every connection of the session.
func (s *h2Session) close() {
	if s == nil {
		return
	}
	for i, c := range s.conns {
		if c != nil {
			c.cc.Close()
			s.conns[i] = nil
		}
	}
}

// doH2 sends one request of VU v over HTTP/2 and reads its response to the
// end, filling the outcome as the other clients do. A stream the server
// resets, or a GOAWAY before the answer, fails this request once: nothing is
// sent again.
func (w *Worker) doH2(stopCtx context.Context, v *vu, t *requestTemplate) outcome {
	o, _ := w.doH2Req(stopCtx, v, t, nil, w.timeout, nil)
	return o
}

// doH2Req is doH2 for req (nil: t's own request) with its timeout, keeping
// the response's body in keep (nil: thrown away); it returns the response's
// header too (nil without a response).
func (w *Worker) doH2Req(stopCtx context.Context, v *vu, t *requestTemplate, req *http.Request, timeout time.Duration, keep *bytes.Buffer) (outcome, http.Header) {
	if v.h2 == nil {
		v.h2 = &h2Session{conns: make([]*h2Conn, len(w.h2.addrs))}
	}
	s := v.h2
	out := outcome{latencyUs: -1, bytesOut: t.bytesOut, via: viaNetHTTP | viaHTTP2}
	if req != nil {
		out.bytesOut = requestBytes(req)
	}
	// The deadline counts from start, so a timed-out request's latency is
	// never below the timeout.
	start := time.Now()
	out.start = start
	ctx, cancel := context.WithDeadline(stopCtx, start.Add(timeout))
	defer cancel()
	fail := func(err error, sent bool) (outcome, http.Header) {
		out.end = time.Now()
		out.err = err
		out.errKind = classify(stopCtx, err)
		out.unsent = out.errKind == kindCanceled && !sent
		if !sent {
			out.notSent = exhausted(err)
		}
		return out, nil
	}
	slot := t.h2.slot
	c := s.conns[slot]
	if c != nil && c.cc.Reserve() != nil {
		// Closed, or told to go away: a new connection takes the request.
		c.cc.Close()
		c, s.conns[slot] = nil, nil
	}
	if c == nil {
		var err error
		if c, err = w.h2.connect(ctx, w.h2.addrs[slot]); err != nil {
			out.bytesOut = 0 // no connection: nothing of the request was written
			return fail(err, false)
		}
		s.conns[slot] = c
	}
	drop := func() {
		c.cc.Close()
		s.conns[slot] = nil
	}
	trace := new(requestTrace)
	if req == nil {
		req = t.tmpl.WithContext(trace.attachExchange(ctx))
		if t.body != nil {
			req.Body = newBodyReader(t.body)
		}
	} else {
		req = req.WithContext(trace.attachExchange(ctx))
	}
	resp, err := c.cc.RoundTrip(req)
	if err != nil {
		out.bytesIn, _ = c.takeRead() // what came of it
		if c.cc.Err() != nil || w.h2.noKeepAlive {
			drop()
		}
		return fail(err, trace.sent())
	}
	if keep != nil {
		keep.Reset()
	}
	n, err := readBody(resp.Body, keep)
	resp.Body.Close()
	out.end = time.Now()
	out.timing = trace.timing(out.end)
	out.timing.connectingUs, out.timing.tlsUs = c.connectingUs, c.tlsUs
	c.connectingUs, c.tlsUs = 0, 0
	out.status = resp.StatusCode
	out.bytesIn = responseHeaderBytes(resp) + uint64(n)
	if wire, ok := c.takeRead(); ok {
		out.bytesIn = wire // the frames as they came, as the other paths count the wire
	}
	if w.h2.noKeepAlive || c.cc.Err() != nil {
		drop()
	}
	if err != nil {
		out.err = err
		out.errKind = classify(stopCtx, err)
		return out, resp.Header
	}
	out.latencyUs = out.end.Sub(start).Microseconds()
	out.errKind = statusKind(resp.StatusCode)
	return out, resp.Header
}

// attachExchange is attach for a request on a connection of its own making:
// only the write and the first response byte, which are all the breakdown
// needs of it, at two closures instead of seven. HTTP/2 reads on a goroutine
// of its own, so the first byte may be reported before the write is: the
// write had ended by then.
func (tr *requestTrace) attachExchange(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			now := time.Now()
			tr.mu.Lock()
			if !tr.firstByte.IsZero() && tr.firstByte.Before(now) {
				now = tr.firstByte
			}
			tr.wrote, tr.wroteOK = now, info.Err == nil
			tr.mu.Unlock()
		},
		GotFirstResponseByte: func() { tr.mark(&tr.firstByte) },
	})
}

// connect opens a connection to a, timing its dial and TLS handshake.
func (c *h2Client) connect(ctx context.Context, a h2Addr) (*h2Conn, error) {
	var d h2Dial
	start := time.Now()
	cc, err := c.tr.NewClientConn(context.WithValue(ctx, dialTimeKey{}, &d), a.scheme, a.addr)
	if err != nil {
		return nil, err
	}
	dialUs := d.us
	conn := &h2Conn{cc: cc, connectingUs: dialUs, wire: d.wire}
	if a.scheme == "https" {
		conn.tlsUs = max(http1.SpanUs(start, time.Now())-dialUs, 1)
	}
	return conn, nil
}

// http2Kind names an HTTP/2 failure of the server's making: a stream it reset
// (RST_STREAM) or a GOAWAY before the answer; kindNone for anything else.
// net/http's HTTP/2 errors are unexported types: their text is what marks them.
func http2Kind(err error) int {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "stream error: "):
		return kindStreamReset
	case strings.Contains(msg, "GOAWAY"):
		return kindGoAway
	}
	return kindNone
}
