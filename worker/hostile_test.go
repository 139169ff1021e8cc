package worker

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// Servers nobody here wrote misbehave in ways that must not change the
// counts: every attempt that reached the wire is one request with its own
// outcome, none lost, none resent unseen. Each test runs both clients.

// countingHandler counts the requests the server's handler saw.
func countingHandler(n *atomic.Int64, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}
}

// Case 1: a server that closes idle kept-alive connections (IdleTimeout
// shorter than the think time). A POST must never be written onto the
// closed connection and lost: every POST reaches the server and succeeds.
func TestIdleClosedConnectionLosesNoPOST(t *testing.T) {
	for _, client := range clients {
		t.Run(client, func(t *testing.T) {
			var served atomic.Int64
			srv := httptest.NewUnstartedServer(countingHandler(&served, func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Write([]byte("ok"))
			}))
			srv.Config.IdleTimeout = 50 * time.Millisecond
			srv.Start()
			t.Cleanup(srv.Close)
			cfg := baseConfig(schemas.Task{Name: "post", Weight: 1, Requests: []schemas.Request{
				{Name: "post", Method: http.MethodPost, URL: srv.URL + "/", Body: []byte("hello")},
			}})
			cfg.Spec.HTTPClient = client
			cfg.Spec.ThinkMinNs, cfg.Spec.ThinkMaxNs = int64(120*time.Millisecond), int64(120*time.Millisecond)
			h := startWorker(t, cfg)
			h.running()
			h.scale(2)
			h.waitUntil("ten POSTs", func() bool { return served.Load() >= 10 })
			h.stop(5*time.Second, false)
			if err := h.wait(); err != nil {
				t.Fatal(err)
			}
			// A close that races the write (the server's timer fires as the
			// request goes out) is the server dropping a request: an error,
			// counted. Writing on connections already closed would fail about
			// every second request (the bug this guards against).
			e := sumEvents(h.events()).endpoint("post")
			n := uint64(served.Load())
			if e.Requests != n+e.Errors || e.Errors != e.ErrorsByKind[schemas.ErrReset] || e.StatusCodes["200"] != n || e.Errors*4 > e.Requests {
				t.Errorf("%d requests, errors %v, statuses %v; the server served %d", e.Requests, e.ErrorsByKind, e.StatusCodes, n)
			}
		})
	}
}

// Case 2: a server that answers 413 before it has read a large body. The
// answer is the request's outcome, for both clients.
func TestEarlyAnswerToLargeBodyIsTheOutcome(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 20<<20)
	for _, client := range clients {
		t.Run(client, func(t *testing.T) {
			var served atomic.Int64
			srv := httptest.NewServer(countingHandler(&served, func(w http.ResponseWriter, r *http.Request) {
				r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
				if _, err := io.ReadAll(r.Body); err != nil {
					http.Error(w, "too large", http.StatusRequestEntityTooLarge)
					return
				}
				w.Write([]byte("ok"))
			}))
			t.Cleanup(srv.Close)
			cfg := baseConfig(schemas.Task{Name: "upload", Weight: 1, Requests: []schemas.Request{
				{Name: "upload", Method: http.MethodPost, URL: srv.URL + "/", Body: body},
			}})
			cfg.Spec.HTTPClient = client
			cfg.Spec.TimeoutNs = int64(waitLimit)
			h := startWorker(t, cfg)
			h.running()
			h.scale(1)
			h.waitUntil("three answers", func() bool { return served.Load() >= 3 })
			h.stop(waitLimit, false)
			if err := h.wait(); err != nil {
				t.Fatal(err)
			}
			e := sumEvents(h.events()).endpoint("upload")
			if e.Requests != uint64(served.Load()) || e.StatusCodes["413"] != e.Requests || e.ErrorsByKind[schemas.ErrHTTP4xx] != e.Requests {
				t.Errorf("%d requests, statuses %v, errors %v; the server answered %d with 413", e.Requests, e.StatusCodes, e.ErrorsByKind, served.Load())
			}
			if len(e.LatencyUs) == 0 {
				t.Error("the 413s have no latency")
			}
		})
	}
}

// dropSecondServer reads requests and answers each, except the second on
// every connection, which it reads and then drops the connection without an
// answer (nginx's `return 444` on $connection_requests = 2).
type dropSecondServer struct {
	*tcpServer
	seen, dropped atomic.Int64
}

func newDropSecondServer(t *testing.T) *dropSecondServer {
	s := &dropSecondServer{}
	s.tcpServer = startTCPServer(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for n := 1; ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			s.seen.Add(1)
			if n == 2 {
				s.dropped.Add(1)
				return
			}
			if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); err != nil {
				return
			}
		}
	})
	return s
}

// Case 3: the server's drops show as errors, and a resend, if the client
// makes one, is a request of its own, counted in retries.
func TestDroppedRequestsAreNotHiddenByResends(t *testing.T) {
	for _, client := range clients {
		t.Run(client, func(t *testing.T) {
			srv := newDropSecondServer(t)
			cfg := baseConfig(task("drop2", 1, "http://"+srv.addr()+"/drop2"))
			cfg.Spec.HTTPClient = client
			h := startWorker(t, cfg)
			h.running()
			h.scale(4)
			h.waitUntil("drops", func() bool { return srv.dropped.Load() >= 50 })
			h.stop(5*time.Second, false)
			if err := h.wait(); err != nil {
				t.Fatal(err)
			}
			e := sumEvents(h.events()).endpoint("drop2")
			seen, dropped := uint64(srv.seen.Load()), uint64(srv.dropped.Load())
			if e.Requests != seen || e.Errors != dropped || e.ErrorsByKind[schemas.ErrReset] != dropped || e.StatusCodes["200"] != seen-dropped {
				t.Errorf("%d requests, errors %v, statuses %v; the server saw %d and dropped %d", e.Requests, e.ErrorsByKind, e.StatusCodes, seen, dropped)
			}
			var retries uint64
			for _, ev := range h.events() {
				for _, ep := range ev.Endpoints {
					retries += ep.Retries
				}
			}
			// The fast client never resends; net/http resends (most of) the
			// GETs whose kept-alive connection died under them, visibly: each
			// resend follows a drop counted above.
			if client == schemas.HTTPClientNetHTTP && (retries == 0 || retries > dropped) || client != schemas.HTTPClientNetHTTP && retries != 0 {
				t.Errorf("%d retries for %d drops", retries, dropped)
			}
			t.Logf("%s: %d requests, %d dropped, %d retries", client, e.Requests, dropped, retries)
		})
	}
}

// A header named twice reaches the server with both values, from both clients.
func TestRepeatedHeaderSendsEveryValue(t *testing.T) {
	for _, client := range clients {
		t.Run(client, func(t *testing.T) {
			got := make(chan []string, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case got <- r.Header.Values("X-A"):
				default:
				}
			}))
			t.Cleanup(srv.Close)
			cfg := baseConfig(schemas.Task{Name: "h", Weight: 1, Requests: []schemas.Request{
				{Name: "h", URL: srv.URL + "/", Headers: [][2]string{{"X-A", "1"}, {"x-a", "2"}}},
			}})
			cfg.Spec.HTTPClient = client
			h := startWorker(t, cfg)
			h.running()
			h.scale(1)
			var values []string
			select {
			case values = <-got:
			case <-time.After(waitLimit):
				t.Fatal("no request")
			}
			h.stop(5*time.Second, false)
			if err := h.wait(); err != nil {
				t.Fatal(err)
			}
			if len(values) != 2 || values[0] != "1" || values[1] != "2" {
				t.Errorf("the server got X-A %q, want both values", values)
			}
		})
	}
}
