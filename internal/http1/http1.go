// Package http1 is loadforge's fast HTTP/1.1 client: one kept-alive
// connection per virtual user and address, each request's bytes written once
// when the plan is prepared, responses read to their end and thrown away, and
// nothing allocated per request in the common case. It serves what a load
// test sends; net/http serves the rest.
package http1

import (
	"context"
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
}

// New returns a client.
func New(cfg Config) *Client {
	dial := cfg.Dial
	if dial == nil {
		dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
		dial = dialer.DialContext
	}
	return &Client{dial: dial, live: map[*conn]struct{}{}}
}

// ErrUnsupported is returned for a request the client cannot send.
var ErrUnsupported = errors.New("the fast client sends plain http:// requests only")

// Prepare prepares req, whose body is body, for the client. It is not safe
// to call while sessions send.
func (f *Client) Prepare(req *http.Request, body []byte) (*Request, error) {
	if req.URL.Scheme != "http" {
		return nil, fmt.Errorf("request %s %s: %w", req.Method, req.URL, ErrUnsupported)
	}
	fr, err := newRequest(req, body)
	if err != nil {
		return nil, err
	}
	fr.slot = f.slot(fr.addr)
	return fr, nil
}

// Timing is one request's breakdown in microseconds (at least 1 when
// measured); a zero field was not measured.
type Timing struct {
	ConnectingUs int64 // TCP connect, on a request that dialled
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
	// Timing is set for a complete response.
	Timing Timing
}

// NewSession returns a session of f.
func (f *Client) NewSession() *Session { return &Session{client: f} }

// spanUs is to − from in µs, at least 1; 0 when either is unknown or they are out of order.
func spanUs(from, to time.Time) int64 {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return 0
	}
	return max(to.Sub(from).Microseconds(), 1)
}
