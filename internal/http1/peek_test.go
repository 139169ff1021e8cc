package http1

import (
	"net"
	"testing"
)

// peekPair is a client conn on loopback and the server's side of it.
func peekPair(tb testing.TB) (*conn, net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- s
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	srv := <-accepted
	if srv == nil {
		tb.Fatal("accept failed")
	}
	tb.Cleanup(func() { nc.Close(); srv.Close() })
	c := &conn{nc: nc}
	c.initExchange(nc)
	return c, srv
}

// The idle check tells an open connection from one the server closed, or
// one the server sent on unasked.
func TestPeerClosed(t *testing.T) {
	c, srv := peekPair(t)
	if c.peerClosed() {
		t.Fatal("an open, quiet connection reads as closed")
	}
	srv.Close()
	// The FIN travels through loopback: poll until it is there.
	for i := 0; !c.peerClosed(); i++ {
		if i == 1_000_000 {
			t.Fatal("the server's close is never seen")
		}
	}
	c2, srv2 := peekPair(t)
	if _, err := srv2.Write([]byte("HTTP/1.1 200 OK\r\n")); err != nil {
		t.Fatal(err)
	}
	for i := 0; !c2.peerClosed(); i++ {
		if i == 1_000_000 {
			t.Fatal("unasked bytes are never seen")
		}
	}
}

// BenchmarkPeerClosed is the cost of the check a kept-alive connection gets
// before it carries a request after sitting idle over IdleGap.
func BenchmarkPeerClosed(b *testing.B) {
	c, _ := peekPair(b)
	b.ReportAllocs()
	for b.Loop() {
		if c.peerClosed() {
			b.Fatal("closed")
		}
	}
}
