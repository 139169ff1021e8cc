// Package http1 is loadforge's fast HTTP/1.1 client, over TCP or TLS: one
// kept-alive connection per virtual user and address, each request's bytes
// written once when the plan is prepared, responses read to their end and
// thrown away, and nothing allocated per request in the common case (over
// TLS, crypto/tls allocates a little per record read). It serves what a load
// test sends; net/http serves the rest.
package http1

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Wire is the request as it goes on the wire; the caller must not change it.
func (r *Request) Wire() []byte { return r.wire }

// Size is how many bytes the request puts on the wire.
func (r *Request) Size() int { return len(r.wire) }

// DialFunc dials a connection, as net.Dialer.DialContext does.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Config is how a Client connects.
type Config struct {
	// Dial opens connections; nil: a net.Dialer with a 5 s timeout.
	Dial DialFunc
	// TLS configures https:// connections; nil: the defaults (system roots,
	// TLS 1.2 and up). Its ServerName, when empty, is each URL's host. When it
	// has no ClientSessionCache the client makes one, shared by its sessions,
	// so that reconnects resume their TLS sessions.
	TLS *tls.Config
	// NoKeepAlive opens a connection for every request and asks the server
	// to close it (Connection: close), as net/http's DisableKeepAlives does.
	NoKeepAlive bool
}

// New returns a client.
func New(cfg Config) *Client {
	dial := cfg.Dial
	if dial == nil {
		dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
		dial = dialer.DialContext
	}
	return &Client{dial: dial, live: map[*conn]struct{}{}, tls: baseTLS(cfg.TLS), noKeepAlive: cfg.NoKeepAlive, tlsByName: map[string]*tls.Config{}}
}

// ErrUnsupported is returned for a request the client cannot send.
var ErrUnsupported = errors.New("the fast client sends http:// and https:// requests only")

// Prepare prepares req, whose body is body, for the client. It is not safe
// to call while sessions send.
func (f *Client) Prepare(req *http.Request, body []byte) (*Request, error) {
	if defaultPort[req.URL.Scheme] == "" {
		return nil, fmt.Errorf("request %s %s: %w", req.Method, req.URL, ErrUnsupported)
	}
	if f.noKeepAlive && !req.Close {
		cl := *req
		cl.Close = true
		req = &cl
	}
	fr, err := newRequest(req, body)
	if err != nil {
		return nil, err
	}
	key := fr.addr
	if req.URL.Scheme == "https" {
		fr.tls = f.tlsFor(req.URL.Hostname())
		key = "tls " + fr.tls.ServerName + " " + fr.addr
	}
	fr.slot = f.slot(key)
	return fr, nil
}

// Timing is one request's breakdown in microseconds (at least 1 when
// measured); a zero field was not measured.
type Timing struct {
	ConnectingUs int64 // TCP connect, on a request that dialled
	TLSUs        int64 // TLS handshake, on a request that dialled an https:// address
	WaitingUs    int64 // request written → first response byte
	ReceivingUs  int64 // first response byte → body read
}

// Result is what one request produced.
type Result struct {
	// Start is when the request was sent (just before the dial or write),
	// End when it completed or failed.
	Start, End time.Time
	// Status is the response's status; 0 without one. It is set on an error
	// too when the body broke off.
	Status int
	// BytesIn is the size of the response on the wire, or of what came of it.
	BytesIn int64
	// Err is why the request failed; nil for any complete response.
	Err error
	// Sent: the whole request was written. A request cut off by its stop
	// context before that never reached the target in full.
	Sent bool
	// Wrote: some byte of the request may have left; false when the
	// connection failed before (nothing was written).
	Wrote bool
	// Timing is set for a complete response.
	Timing Timing
}

// WithWire makes dst a copy of r that sends wire instead of r's bytes (a
// request rendered for one VU), and returns it.
func (r *Request) WithWire(dst *Request, wire []byte) *Request {
	*dst = *r
	dst.wire = wire
	return dst
}

// NewSession returns a session of f.
func (f *Client) NewSession() *Session { return &Session{client: f} }

// SpanUs is to − from in µs, at least 1; 0 when either is unknown or they are
// out of order. The worker's net/http and HTTP/2 paths time their phases with
// it too, so both clients report timings by one rule.
func SpanUs(from, to time.Time) int64 {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return 0
	}
	return max(to.Sub(from).Microseconds(), 1)
}
