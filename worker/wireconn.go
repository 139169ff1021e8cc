package worker

import (
	"context"
	"crypto/tls"
	"net"
	"sync/atomic"
)

// wireConn counts the bytes written on a connection of net/http's transport,
// so that an attempt of a request the transport resent can be told to have
// reached the wire (its bytes went out) or not.
type wireConn struct {
	net.Conn
	written, read atomic.Uint64
}

func (c *wireConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(uint64(n))
	return n, err
}

func (c *wireConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(uint64(n))
	return n, err
}

// countWrites wraps the connections dial makes in a wireConn.
func countWrites(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &wireConn{Conn: c}, nil
	}
}

// wireConnOf finds the wireConn under a connection the transport handed out
// (under TLS too, then plain is false); nil if there is none.
func wireConnOf(c net.Conn) (wc *wireConn, plain bool) {
	plain = true
	if tc, ok := c.(*tls.Conn); ok {
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			// Streams share the connection: its counts are not one request's.
			return nil, false
		}
		c, plain = tc.NetConn(), false
	}
	wc, _ = c.(*wireConn)
	return wc, plain
}
