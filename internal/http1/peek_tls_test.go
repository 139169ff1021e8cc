package http1

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"testing"
	"time"
)

// waitForBytes polls c's socket until something is waiting on it.
func waitForBytes(t *testing.T, c *conn, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.peekIdle() == peekQuiet {
		if time.Now().After(deadline) {
			t.Fatalf("%s never arrives", what)
		}
		time.Sleep(time.Millisecond) // polling a socket: there is no signal to wait on
	}
}

// Over TLS the idle check peeks at the TCP socket under the records: an open
// connection stays in use, and the server's close_notify (records waiting
// on the socket, read to tell them from a session ticket) makes the next
// request go on a new connection, so that no request is lost to it.
func TestPeerClosedTLS(t *testing.T) {
	srv, conns := tlsServer(t)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c := New(Config{TLS: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13}})
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := c.Prepare(req, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	cn, err := c.connect(context.Background(), fr.addr, fr.tls, time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if cn.peerClosed() {
		t.Fatal("an open TLS connection reads as closed")
	}
	s := c.NewSession()
	defer s.Close()
	s.conns = []*conn{cn}
	cn.done = time.Now().Add(-time.Second) // idle long enough to be checked
	if res := s.Do(context.Background(), fr, 10*time.Second); res.Err != nil || res.Status != http.StatusOK {
		t.Fatalf("request on the checked connection: %+v", res)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections after the check, want the one", n)
	}

	srv.CloseClientConnections() // the server's close_notify, then its FIN
	waitForBytes(t, cn, "the server's close")
	if s.conns[0] != cn {
		t.Fatal("the connection was not kept alive")
	}
	cn.done = time.Now().Add(-time.Second)
	res := s.Do(context.Background(), fr, 10*time.Second)
	if res.Err != nil || res.Status != http.StatusOK {
		t.Fatalf("request after the server closed the idle connection: %+v", res)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2: the closed one was not replaced", n)
	}
	if res.Timing.TLSUs <= 0 {
		t.Errorf("the request on the new connection has no handshake time: %+v", res.Timing)
	}
}
