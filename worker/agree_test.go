package worker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

// cannedServer answers each connection's first request with response, then closes it.
func cannedServer(t *testing.T, response string) string {
	s := startTCPServer(t, func(c net.Conn) {
		defer c.Close()
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		c.Write([]byte(response))
	})
	return "http://" + s.addr() + "/"
}

// sendOnce sends one GET of url with client and returns its outcome.
func sendOnce(t *testing.T, client, url string) outcome {
	t.Helper()
	cfg := baseConfig(task("x", 1, url))
	cfg.Spec.HTTPClient = client
	w, err := New(cfg, testConn(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.client.CloseIdleConnections)
	v := &vu{stop: make(chan struct{}), shard: w.shards[0], rng: newTestRand()}
	t.Cleanup(func() { v.fast.Close() })
	return w.send(context.Background(), v, w.tasks[0][0])
}

// The two clients read the same responses the same way: the same status and
// error kind, and for a well-formed response the same bytes_in, which is the
// response's size on the wire (1xx responses, status line, headers, body with
// its chunk framing).
func TestClientsAgreeOnEdgeResponses(t *testing.T) {
	informational := strings.Repeat("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", 6)
	bigHeaders := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Big: "+strings.Repeat("b", 1000)+"\r\n", 1100) + "Content-Length: 2\r\n\r\nok"
	cases := []struct {
		name, response string
		status         int
		kind           string // "" for none
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, ""},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 200, ""},
		{"chunked with trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nT: v\r\n\r\n", 200, ""},
		{"six 1xx first", informational + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, ""},
		{"HTTP/2.0 status line", "HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, ""},
		{"404", "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno", 404, schemas.ErrHTTP4xx},
		{"over 1 MiB of headers", bigHeaders, 0, schemas.ErrOther},
		{"status 099", "HTTP/1.1 099 Weird\r\nContent-Length: 2\r\n\r\nok", 0, schemas.ErrOther},
		{"bare LF after chunk data", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\n0\n\n", 200, schemas.ErrOther},
		{"closed before the body ends", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok", 200, schemas.ErrReset},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var outs [2]outcome
			for i, client := range []string{schemas.HTTPClientFast, schemas.HTTPClientNetHTTP} {
				o := sendOnce(t, client, cannedServer(t, c.response))
				outs[i] = o
				if o.status != c.status || errorKinds[o.errKind] != c.kind {
					t.Errorf("%s: status %d, kind %q; want %d, %q", client, o.status, errorKinds[o.errKind], c.status, c.kind)
				}
			}
			if c.kind == "" || c.kind == schemas.ErrHTTP4xx {
				for i, client := range []string{schemas.HTTPClientFast, schemas.HTTPClientNetHTTP} {
					if outs[i].bytesIn != uint64(len(c.response)) {
						t.Errorf("%s: bytes_in %d, the response is %d bytes on the wire", client, outs[i].bytesIn, len(c.response))
					}
				}
			}
		})
	}
}

// net/http's own word for a kept-alive connection the server closed as the
// request went out is a reset, as the fast client calls it.
func TestServerClosedIdleIsReset(t *testing.T) {
	err := fmt.Errorf("Get \"http://127.0.0.1/\": %w", errors.New("http: server closed idle connection"))
	if k := classify(context.Background(), err); k != kindReset {
		t.Errorf("classify(%v) = %s, want reset", err, errorKinds[k])
	}
}
