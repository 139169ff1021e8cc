package worker

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/http1"
	"github.com/loadforge/loadforge/schemas"
)

// clients are the client choices tests run with: on http:// URLs, auto means
// the fast client.
var clients = []string{schemas.HTTPClientAuto, schemas.HTTPClientNetHTTP}

// wantClient is the client that sends an http:// request under choice.
func wantClient(choice string) string {
	if choice == schemas.HTTPClientNetHTTP {
		return schemas.HTTPClientNetHTTP
	}
	return schemas.HTTPClientFast
}

// rawServer answers every request it reads with one canned response, then
// closes the connection if closeAfter, without saying so in the response.
type rawServer struct {
	*tcpServer
	response    []byte
	closeAfter  bool
	requests    atomic.Int64
	connections atomic.Int64
}

func newRawServer(t testing.TB, response string, closeAfter bool) *rawServer {
	s := &rawServer{response: []byte(response), closeAfter: closeAfter}
	s.tcpServer = startTCPServer(t, func(c net.Conn) {
		s.connections.Add(1)
		defer c.Close()
		s.serve(c)
	})
	return s
}

func (s *rawServer) URL() string { return "http://" + s.addr() }

func (s *rawServer) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return
		}
		s.requests.Add(1)
		if _, err := c.Write(s.response); err != nil || s.closeAfter {
			return
		}
	}
}

// A server that closes kept-alive connections right after each response,
// without saying so: a request written before the close is seen fails as
// reset and is not sent again, whatever its method (no hidden resend). Every
// request the server answered counts once, and the others count as errors.
func TestFastClientStaleConnections(t *testing.T) {
	for _, c := range []struct {
		method string
	}{
		{http.MethodGet},
		{http.MethodPost},
	} {
		t.Run(c.method, func(t *testing.T) {
			srv := newRawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true)
			cfg := baseConfig(schemas.Task{Name: "t", Weight: 1, Requests: []schemas.Request{{Name: "t", Method: c.method, URL: srv.URL() + "/"}}})
			h := startWorker(t, cfg)
			h.running()
			h.scale(2)
			h.waitUntil("traffic", func() bool { return srv.requests.Load() >= 200 })
			h.stop(5*time.Second, false)
			if err := h.wait(); err != nil {
				t.Fatal(err)
			}
			e := sumEvents(h.events()).endpoint("t")
			if e.HTTPClient != schemas.HTTPClientFast {
				t.Errorf("sent with %q", e.HTTPClient)
			}
			served := uint64(srv.requests.Load())
			if e.Requests-e.Errors != served || e.StatusCodes["200"] != served {
				t.Errorf("%d requests, %d errors %v, statuses %v; the server answered %d", e.Requests, e.Errors, e.ErrorsByKind, e.StatusCodes, served)
			}
			if e.Errors != e.ErrorsByKind[schemas.ErrReset] {
				t.Errorf("errors %v", e.ErrorsByKind)
			}
			if conns := srv.connections.Load(); conns < int64(served) {
				t.Errorf("%d requests answered on %d connections, each of which the server closed after one", served, conns)
			}
		})
	}
}

// The fast client keeps one connection per VU and reuses it.
func TestFastClientReusesConnections(t *testing.T) {
	srv := newRawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
	h := startWorker(t, baseConfig(task("t", 1, srv.URL()+"/")))
	h.running()
	const vus = 3
	h.scale(vus)
	h.waitUntil("traffic", func() bool { return srv.requests.Load() >= 300 })
	h.stop(5*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if conns := srv.connections.Load(); conns != vus {
		t.Errorf("%d VUs opened %d connections", vus, conns)
	}
	if e := sumEvents(h.events()).endpoint("t"); e.Errors != 0 || e.Requests != uint64(srv.requests.Load()) {
		t.Errorf("requests %d errors %v; the server answered %d", e.Requests, e.ErrorsByKind, srv.requests.Load())
	}
}

// Each endpoint says which client sent it, and the plan's choice is kept.
func TestClientChoice(t *testing.T) {
	tlsURL := newTLSTarget(t)
	conn := testConn(t)
	for _, c := range []struct {
		choice     string
		plain, tls string // client of each endpoint; "" means New refuses
	}{
		{"", schemas.HTTPClientFast, schemas.HTTPClientFast},
		{schemas.HTTPClientAuto, schemas.HTTPClientFast, schemas.HTTPClientFast},
		{schemas.HTTPClientNetHTTP, schemas.HTTPClientNetHTTP, schemas.HTTPClientNetHTTP},
		{schemas.HTTPClientFast, schemas.HTTPClientFast, schemas.HTTPClientFast},
		{"curl", "", ""},
	} {
		cfg := baseConfig(task("plain", 1, "http://127.0.0.1:1/"), task("tls", 1, tlsURL+"/"))
		cfg.Spec.HTTPClient = c.choice
		w, err := New(cfg, conn)
		if c.plain == "" {
			if err == nil {
				t.Errorf("choice %q accepted", c.choice)
			}
			continue
		}
		if err != nil {
			t.Fatalf("choice %q: %v", c.choice, err)
		}
		if w.endpoints[0].client != c.plain || w.endpoints[1].client != c.tls {
			t.Errorf("choice %q: endpoints sent with %q and %q", c.choice, w.endpoints[0].client, w.endpoints[1].client)
		}
	}
	cfg := baseConfig(task("plain", 1, "http://127.0.0.1:1/"))
	cfg.Spec.HTTPClient = schemas.HTTPClientFast
	cfg.Spec.HTTPVersion = schemas.HTTPVersion2
	if _, err := New(cfg, conn); err == nil {
		t.Errorf("the fast client accepted for HTTP/2")
	}
}

// A server that half-closes a connection once it has answered (it sends its
// FIN but still reads, and answers nothing more there): after a pause, the
// next request finds the close at once and goes again on a fresh connection,
// instead of waiting for its timeout.
func TestFastClientSeesHalfClosedIdleConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var answered atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				answered.Add(1)
				if _, err := c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); err != nil {
					return
				}
				_ = c.(*net.TCPConn).CloseWrite()
				_, _ = io.Copy(io.Discard, c) // reads on, answers nothing, until the client goes
			}()
		}
	}()
	cfg := baseConfig(task("t", 1, "http://"+ln.Addr().String()+"/"))
	cfg.Spec.ThinkMinNs = int64(50 * http1.IdleGap)
	cfg.Spec.TimeoutNs = int64(waitLimit)
	h := startWorker(t, cfg)
	h.running()
	h.scale(1)
	h.waitUntil("two answers", func() bool { return answered.Load() >= 2 })
	h.stop(5*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if e := sumEvents(h.events()).endpoint("t"); e.Errors != 0 || e.Requests != uint64(answered.Load()) {
		t.Errorf("requests %d, errors %v; the server answered %d", e.Requests, e.ErrorsByKind, answered.Load())
	}
}
