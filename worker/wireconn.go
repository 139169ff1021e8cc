package worker

import (
	"context"
	"crypto/tls"
	"net"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// wireConn counts the bytes written and read on a connection of net/http's
// transport: written tells whether an attempt of a request the transport
// resent reached the wire; read is what came on it. Over TLS it sits on the
// TLS connection (dialTLSCounted), counting the HTTP bytes.
//
// What it reads also goes to the request that holds the connection (owner,
// set when the transport hands it out): the transport's pool may give the
// connection to another VU's request as soon as a body is read, before its
// reader has looked at the counts, and the next response is read only after
// its request took the connection.
type wireConn struct {
	net.Conn
	written, read atomic.Uint64
	owner         atomic.Pointer[atomic.Uint64]
}

func (c *wireConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(uint64(n))
	if o := c.owner.Load(); o != nil {
		o.Add(uint64(n))
	}
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

// wireConnOf is the wireConn of a connection the transport handed out; nil
// if it does not count (the transport's own TLS connections would count TLS
// records: dialTLSCounted makes them instead).
func wireConnOf(c net.Conn) *wireConn {
	wc, _ := c.(*wireConn)
	return wc
}

// dialTLSCounted makes a transport's TLS connections itself and hands them
// out wrapped in a wireConn over the TLS connection: its counts are then the
// HTTP bytes as they came and went (the records' contents), as the fast
// client counts them over TLS, not the TLS records. The transport would
// report the handshake to the request's trace; with its own dial it cannot,
// so this does. nextProtos is the ALPN offer (nil: none, HTTP/1.1); keep
// tells whether the negotiated protocol may go counted: a connection that
// fails it is handed out bare, for the transport to speak what was agreed.
func dialTLSCounted(dial dialFunc, cfg *tls.Config, timeout time.Duration, nextProtos []string, keep func(proto string) bool) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := cfg.Clone() // shares the session cache
		if c == nil {
			c = &tls.Config{}
		}
		if c.ServerName == "" {
			if host, _, err := net.SplitHostPort(addr); err == nil {
				c.ServerName = host
			}
		}
		c.NextProtos = nextProtos
		tc := tls.Client(raw, c)
		trace := httptrace.ContextClientTrace(ctx)
		if trace != nil && trace.TLSHandshakeStart != nil {
			trace.TLSHandshakeStart()
		}
		hctx, cancel := context.WithTimeout(ctx, timeout)
		err = tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			raw.Close()
			if trace != nil && trace.TLSHandshakeDone != nil {
				trace.TLSHandshakeDone(tls.ConnectionState{}, err)
			}
			return nil, err
		}
		cs := tc.ConnectionState()
		if trace != nil && trace.TLSHandshakeDone != nil {
			trace.TLSHandshakeDone(cs, nil)
		}
		if keep != nil && !keep(cs.NegotiatedProtocol) {
			return tc, nil
		}
		return &wireConn{Conn: tc}, nil
	}
}
