package worker

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// cannedTLSServer answers each connection's first request, over TLS with a
// certificate of ca, with response, then closes it.
func cannedTLSServer(t *testing.T, ca *testCA, response string) string {
	cert, _, _ := ca.issue(t, false, time.Now().Add(time.Hour))
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	s := startTCPServer(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		defer tc.Close()
		if _, err := http.ReadRequest(bufio.NewReader(tc)); err != nil {
			return
		}
		_, _ = tc.Write([]byte(response))
	})
	return "https://" + s.addr() + "/"
}

// sendOn sends n GETs of url with cfg's client and protocol on one VU and
// returns their outcomes.
func sendOn(t *testing.T, cfg Config, n int) []outcome {
	t.Helper()
	w, err := New(cfg, testConn(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.client.CloseIdleConnections)
	v := &vu{stop: make(chan struct{}), shard: w.shards[0], rng: newTestRand()}
	t.Cleanup(v.closeConns)
	outs := make([]outcome, n)
	for i := range outs {
		outs[i] = w.send(context.Background(), v, w.tasks[0][0])
		if outs[i].errKind != kindNone {
			t.Fatalf("request %d: %s (%v)", i, errorKinds[outs[i].errKind], outs[i].err)
		}
	}
	return outs
}

// Over TLS both clients count bytes_in as over plain http: the response as
// it came on the wire (1xx responses, status line, headers, body with its
// chunk framing and trailers), the records' contents, not the records.
func TestBytesInOverTLSIsTheResponseOnTheWire(t *testing.T) {
	ca := newTestCA(t)
	for _, c := range []struct{ name, response string }{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nT: v\r\n\r\n"},
		{"two 1xx first", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{"headers only", "HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, client := range []string{schemas.HTTPClientFast, schemas.HTTPClientNetHTTP} {
				for _, secure := range []bool{false, true} {
					cfg := baseConfig(task("x", 1, cannedServer(t, c.response)))
					if secure {
						cfg = baseConfig(task("x", 1, cannedTLSServer(t, ca, c.response)))
						cfg.Spec.TLS = &schemas.TargetTLS{CAPEM: ca.pem}
					}
					cfg.Spec.HTTPClient, cfg.Spec.HTTPVersion = client, schemas.HTTPVersion11
					o := sendOn(t, cfg, 1)[0]
					if o.bytesIn != uint64(len(c.response)) {
						t.Errorf("%s (TLS %v): bytes_in %d, the response is %d bytes on the wire", client, secure, o.bytesIn, len(c.response))
					}
				}
			}
		})
	}
}

// HTTP/2 counts the frames read on the VU's connection, over TLS as over
// h2c: their sum over a connection's requests is every byte the server wrote
// on it (SETTINGS and the like go with the first request), and the same
// server counts the same over TLS, the records' contents, as over h2c.
func TestHTTP2BytesInIsTheFramesOnTheWire(t *testing.T) {
	body := make([]byte, 40_000) // more than one DATA frame
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Test", "bytes")
		// A fixed Date: a clock that ticks over between requests changes
		// the HPACK encoding by a few bytes, and the TLS and h2c runs are
		// compared byte for byte.
		w.Header().Set("Date", "Thu, 01 Jan 2026 00:00:00 GMT")
		_, _ = w.Write(body)
	})
	const n = 20
	sum := func(outs []outcome) (s uint64) {
		for _, o := range outs {
			if o.via&viaHTTP2 == 0 || o.status != http.StatusOK {
				t.Fatalf("a request went %v with status %d, want HTTP/2 and 200", o.via, o.status)
			}
			s += o.bytesIn
		}
		return s
	}

	var h2cRead, h2cWritten atomic.Int64
	h2c := httptest.NewUnstartedServer(handler)
	h2c.Listener = &countingListener{Listener: h2c.Listener, read: &h2cRead, written: &h2cWritten}
	h2c.Config.Protocols = new(http.Protocols)
	h2c.Config.Protocols.SetUnencryptedHTTP2(true)
	h2c.Start()
	t.Cleanup(h2c.Close)
	cfg := baseConfig(task("x", 1, h2c.URL+"/"))
	cfg.Spec.HTTPVersion = schemas.HTTPVersion2
	plain := sum(sendOn(t, cfg, n))
	if plain != uint64(h2cWritten.Load()) || plain < n*uint64(len(body)) {
		t.Errorf("h2c: bytes_in %d over %d requests; the server wrote %d bytes, bodies %d", plain, n, h2cWritten.Load(), n*len(body))
	}

	ca := newTestCA(t)
	srv := newTLSServerHandler(t, ca, true, nil, handler)
	cfg = baseConfig(task("x", 1, srv.URL+"/"))
	cfg.Spec.TLS = &schemas.TargetTLS{CAPEM: ca.pem}
	cfg.Spec.HTTPVersion = schemas.HTTPVersion2
	if secure := sum(sendOn(t, cfg, n)); secure != plain {
		t.Errorf("HTTP/2 over TLS: bytes_in %d over %d requests; over h2c %d", secure, n, plain)
	}
}
