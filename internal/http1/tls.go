package http1

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// defaultPort is the port of each scheme the client speaks.
var defaultPort = map[string]string{"http": "80", "https": "443"}

// baseTLS is the client's TLS configuration: cfg's, or the defaults, with a
// session cache for resumption and HTTP/1.1 the only protocol offered.
func baseTLS(cfg *tls.Config) *tls.Config {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	if cfg.ClientSessionCache == nil {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	}
	// The client speaks HTTP/1.1 only: a server that offers h2 must not pick it.
	cfg.NextProtos = []string{"http/1.1"}
	return cfg
}

// tlsFor returns the TLS configuration of connections to host: the base one
// with the server name set (unless the base one names the server), as net/http
// does. Every configuration shares the base one's session cache.
func (f *Client) tlsFor(host string) *tls.Config {
	name := f.tls.ServerName
	if name == "" {
		name = host
	}
	if cfg, ok := f.tlsByName[name]; ok {
		return cfg
	}
	cfg := f.tls.Clone()
	cfg.ServerName = name
	f.tlsByName[name] = cfg
	return cfg
}

// handshake runs the TLS handshake on nc; tlsUs is its duration.
func handshake(ctx context.Context, nc net.Conn, cfg *tls.Config) (tc *tls.Conn, tlsUs int64, err error) {
	tc = tls.Client(nc, cfg)
	start := time.Now()
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, 0, err
	}
	return tc, SpanUs(start, time.Now()), nil
}
