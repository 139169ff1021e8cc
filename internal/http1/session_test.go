package http1

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// tlsServer is an HTTPS server (HTTP/1.1 only) that counts its connections.
func tlsServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello"))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// A session over TLS keeps its connection: the first request times the
// connect and the handshake, the others neither. Without keep-alive, every
// request opens its own connection and times both.
func TestSessionOverTLS(t *testing.T) {
	for _, noKeepAlive := range []bool{false, true} {
		srv, conns := tlsServer(t)
		roots := x509.NewCertPool()
		roots.AddCert(srv.Certificate())
		c := New(Config{TLS: &tls.Config{RootCAs: roots}, NoKeepAlive: noKeepAlive})
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := c.Prepare(req, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := c.NewSession()
		const n = 3
		for i := range n {
			res := s.Do(context.Background(), fr, 5*time.Second)
			if res.Err != nil || res.Status != http.StatusOK || !res.Sent || res.BytesIn == 0 {
				t.Fatalf("no keep-alive %v, request %d: %+v", noKeepAlive, i+1, res)
			}
			opened := i == 0 || noKeepAlive
			if tm := res.Timing; opened != (tm.ConnectingUs > 0) || opened != (tm.TLSUs > 0) || tm.WaitingUs <= 0 {
				t.Errorf("no keep-alive %v, request %d: timing %+v", noKeepAlive, i+1, tm)
			}
		}
		s.Close()
		want := int64(1)
		if noKeepAlive {
			want = n
		}
		if got := conns.Load(); got != want {
			t.Errorf("no keep-alive %v: %d requests on %d connections, want %d", noKeepAlive, n, got, want)
		}
	}
}

// An untrusted certificate fails the request before anything is sent.
func TestSessionUntrustedCertificate(t *testing.T) {
	srv, _ := tlsServer(t)
	s, fr := sessionFor(t, New(Config{}), srv.URL+"/")
	res := s.Do(context.Background(), fr, 5*time.Second)
	var verr *tls.CertificateVerificationError
	if res.Sent || res.Status != 0 || !errors.As(res.Err, &verr) {
		t.Errorf("result %+v", res)
	}
}

// A connection dialled ahead (with its handshake) carries the first request,
// which reports neither: no request waited for them. A second Connect finds
// it and dials nothing. A connection the server closed while it waited is
// found closed before the request, which goes on a new one and times it.
func TestSessionConnectAhead(t *testing.T) {
	srv, conns := tlsServer(t)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	s, fr := sessionFor(t, New(Config{TLS: &tls.Config{RootCAs: roots}}), srv.URL+"/")
	for range 2 {
		if err := s.Connect(context.Background(), fr, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	res := s.Do(context.Background(), fr, 5*time.Second)
	if res.Err != nil || res.Status != http.StatusOK || res.Timing.ConnectingUs != 0 || res.Timing.TLSUs != 0 || res.Timing.WaitingUs <= 0 {
		t.Fatalf("first request on a connection dialled ahead: %+v", res)
	}
	if got := conns.Load(); got != 1 {
		t.Fatalf("%d connections after two Connects and a request, want 1", got)
	}

	// The server closes its idle connections; Connect keeps the one it has.
	srv.CloseClientConnections()
	if err := s.Connect(context.Background(), fr, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// The close is on the socket when CloseClientConnections returns; past
	// IdleGap (a condition of the check, not a wait for it) the request
	// checks the idle connection first.
	time.Sleep(2 * IdleGap)
	res = s.Do(context.Background(), fr, 5*time.Second)
	if res.Err != nil || res.Status != http.StatusOK || res.Timing.ConnectingUs <= 0 {
		t.Fatalf("request after the server closed the connection: %+v", res)
	}
	if got := conns.Load(); got != 2 {
		t.Errorf("%d connections, want 2", got)
	}
}

// sessionFor is a new session of c, closed when the test ends, and a GET of
// url prepared for it.
func sessionFor(t *testing.T, c *Client, url string) (*Session, *Request) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := c.Prepare(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.NewSession()
	t.Cleanup(s.Close)
	return s, fr
}

// A body larger than the socket takes at once is written while the response
// is read, under the request's deadline: a server that reads it gets it
// whole, request after request on one connection; one that never reads
// leaves the request failed at its timeout, not hung.
func TestLargeBodyUnderTheDeadline(t *testing.T) {
	body := make([]byte, 8<<20)
	stall := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stall" {
			<-stall // neither reads the body nor answers
			return
		}
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil || n != int64(len(body)) {
			http.Error(w, "short body", http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stall) })
	c := New(Config{})
	s := c.NewSession()
	defer s.Close()
	prepare := func(path string) *Request { return prepared(t, c, http.MethodPost, srv.URL+path, body) }
	ok := prepare("/")
	for i := range 3 {
		if res := s.Do(context.Background(), ok, 10*time.Second); res.Err != nil || res.Status != http.StatusOK {
			t.Fatalf("request %d: status %d, err %v", i+1, res.Status, res.Err)
		}
	}
	res := s.Do(context.Background(), prepare("/stall"), 200*time.Millisecond)
	if !errors.Is(res.Err, os.ErrDeadlineExceeded) {
		t.Fatalf("a server that never reads: err %v, want the deadline", res.Err)
	}
}

// A plain connection keeps the read deadline an earlier request set while it
// falls within the request's own [deadline, deadline+slack]: a request never
// fails before its timeout, a short timeout after long ones still applies,
// and a hanging server fails the request at most the slack late (bounded
// here by what a loaded machine can promise).
func TestKeptReadDeadline(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			<-hang
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) })
	c := New(Config{})
	ok, hung := prepared(t, c, http.MethodGet, srv.URL+"/", nil), prepared(t, c, http.MethodGet, srv.URL+"/hang", nil)
	for _, tc := range []struct {
		name          string
		before, after time.Duration // timeouts of the answered requests, then of the hanging one
	}{
		{"same timeout", 640 * time.Millisecond, 640 * time.Millisecond},
		{"shorter after longer", 10 * time.Second, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := c.NewSession()
			defer s.Close()
			for i := range 20 {
				if res := s.Do(context.Background(), ok, tc.before); res.Err != nil {
					t.Fatalf("request %d: %v", i+1, res.Err)
				}
			}
			res := s.Do(context.Background(), hung, tc.after)
			if !errors.Is(res.Err, os.ErrDeadlineExceeded) {
				t.Fatalf("hanging server: err %v, want the deadline", res.Err)
			}
			took := res.End.Sub(res.Start)
			if took < tc.after {
				t.Errorf("failed after %v, before its timeout %v", took, tc.after)
			}
			if limit := tc.after + deadlineSlack(tc.after) + 3*time.Second; took > limit {
				t.Errorf("failed after %v, timeout %v (slack %v)", took, tc.after, deadlineSlack(tc.after))
			}
		})
	}
}

// deadlineConn records the read deadlines set on it.
type deadlineConn struct {
	net.Conn
	set []time.Time
}

func (d *deadlineConn) SetReadDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

// keepReadDeadline leaves every request's deadline in [deadline,
// deadline+slack] and moves it about once per slack of steady requests.
func TestKeepReadDeadlineMovesOncePerSlack(t *testing.T) {
	dc := &deadlineConn{}
	c := &conn{nc: dc}
	const slack = 100 * time.Millisecond
	base := time.Unix(1_700_000_000, 0)
	for i := range 1000 {
		d := base.Add(time.Duration(i) * time.Millisecond) // a request a millisecond
		if err := c.keepReadDeadline(d, slack); err != nil {
			t.Fatal(err)
		}
		kept := dc.set[len(dc.set)-1]
		if kept.Before(d) || kept.Sub(d) > slack {
			t.Fatalf("request %d: deadline %v, kept %v", i, d, kept)
		}
	}
	if n := len(dc.set); n < 9 || n > 11 {
		t.Errorf("%d deadlines set for 1,000 requests over 1 s, want about 10", n)
	}
	// An earlier deadline (a shorter timeout) is set at once.
	short := base.Add(500 * time.Millisecond)
	before := len(dc.set)
	if err := c.keepReadDeadline(short, slack); err != nil {
		t.Fatal(err)
	}
	if len(dc.set) != before+1 || dc.set[len(dc.set)-1].Sub(short) > slack {
		t.Errorf("a shorter deadline left the kept one: %v", dc.set[len(dc.set)-1])
	}
}

// prepared is c's request of method to url with body (nil: none).
func prepared(t *testing.T, c *Client, method, url string, body []byte) *Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := c.Prepare(req, body)
	if err != nil {
		t.Fatal(err)
	}
	return fr
}
