// Package target is loadforge's built-in demo target: a small HTTP server with
// fast, slow, failing and stalling endpoints, that counts what it serves so
// tests can compare its count with a run's result.
//
//	/                     200 "ok\n", as fast as it gets
//	/delay?ms=N           answers after N ms (at most 60000)
//	/status?code=N        answers with status N (200-599)
//	/json                 a small JSON document
//	/stall?every=D&ms=N   stalls for the first N ms of every period D (default 2s and 500):
//	                      a request arriving then waits until the stall ends
//	/slowstart?ms=N&delay=D  slow only at the start: for N ms (default 2000) after the first
//	                      request to /slowstart, each request answers after D ms (default:
//	                      waits until the N ms are over); then at once, as / does
//	/echo                 answers with the request's body (up to 1 MiB), any method
//	/stats                {"requests": n}: requests served, not counting /stats itself
//	/login, /me, /cookie-login, /session, /users/NAME, /accounts: a login flow (login.go)
package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAddr is where the target listens when Config.Addr is empty.
const DefaultAddr = "127.0.0.1:8080"

const (
	maxDelay = 60 * time.Second
	maxEcho  = 1 << 20
)

// Handler serves the target's endpoints and counts the requests it serves.
type Handler struct {
	requests atomic.Uint64
	epoch    time.Time // stall periods are aligned to it
	mux      *http.ServeMux
	acc      accounts // the login endpoints' state (login.go)

	slowStart atomic.Int64 // Unix ns when /slowstart turns fast; 0: no request yet
}

// NewHandler returns the target's handler, for use in any server (httptest too).
func NewHandler() *Handler {
	h := &Handler{epoch: time.Now(), mux: http.NewServeMux()}
	h.mux.HandleFunc("/{$}", h.ok)
	h.mux.HandleFunc("/delay", h.delay)
	h.mux.HandleFunc("/status", h.status)
	h.mux.HandleFunc("/json", h.json)
	h.mux.HandleFunc("/stall", h.stall)
	h.mux.HandleFunc("/slowstart", h.slowstart)
	h.mux.HandleFunc("/echo", h.echo)
	h.mux.HandleFunc("/stats", h.stats)
	h.registerLogin()
	return h
}

// Requests is how many requests the handler has received, /stats excluded.
// A request counts when it arrives, so one cut off mid-delay counts too.
func (h *Handler) Requests() uint64 { return h.requests.Load() }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/stats" {
		h.requests.Add(1)
	}
	h.mux.ServeHTTP(w, r)
}

func text(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

func (h *Handler) ok(w http.ResponseWriter, _ *http.Request) {
	text(w, http.StatusOK, "ok\n")
}

// wait sleeps for d unless the request goes away first; it reports whether it slept in full.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// intParam reads a whole-number query parameter; def applies when it is absent
// (def < 0 makes it required).
func intParam(r *http.Request, name string, def int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		if def < 0 {
			return 0, fmt.Errorf("%s: required", name)
		}
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: want a whole number ≥ 0, got %q", name, s)
	}
	return n, nil
}

func (h *Handler) delay(w http.ResponseWriter, r *http.Request) {
	ms, err := intParam(r, "ms", -1)
	if err != nil {
		text(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	if !wait(r.Context(), min(time.Duration(ms)*time.Millisecond, maxDelay)) {
		return
	}
	text(w, http.StatusOK, "ok\n")
}

// status answers with any final status; 1xx codes are informational in HTTP
// and cannot end a response, so they are refused like any other bad code.
func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	code, err := intParam(r, "code", -1)
	if err == nil && (code < 200 || code > 599) {
		err = fmt.Errorf("code: want 200 to 599, got %d", code)
	}
	if err != nil {
		text(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	text(w, code, strconv.Itoa(code)+" "+http.StatusText(code)+"\n")
}

var jsonDoc = []byte(`{"id":42,"name":"loadforge demo item","price":9.99,"tags":["demo","fast"],"stock":{"warehouse":"A1","count":17}}` + "\n")

func (h *Handler) json(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(jsonDoc)))
	_, _ = w.Write(jsonDoc)
}

func (h *Handler) stall(w http.ResponseWriter, r *http.Request) {
	every := 2 * time.Second
	if s := r.URL.Query().Get("every"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Millisecond {
			text(w, http.StatusBadRequest, fmt.Sprintf("every: want a duration ≥ 1ms, got %q\n", s))
			return
		}
		every = d
	}
	ms, err := intParam(r, "ms", 500)
	if err != nil {
		text(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	stall := min(time.Duration(ms)*time.Millisecond, maxDelay)
	if phase := time.Since(h.epoch) % every; phase < stall {
		if !wait(r.Context(), stall-phase) {
			return
		}
	}
	text(w, http.StatusOK, "ok\n")
}

func (h *Handler) echo(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxEcho+1))
	if err != nil {
		return // the client went away
	}
	if len(body) > maxEcho {
		text(w, http.StatusRequestEntityTooLarge, "body over 1 MiB\n")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func (h *Handler) stats(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]uint64{"requests": h.Requests()})
}

// Config configures a Server. The zero value listens on DefaultAddr.
type Config struct {
	Addr string // HOST:PORT; port 0 picks a free one
}

// Server runs the Handler on a TCP address.
type Server struct {
	cfg     Config
	handler *Handler
	ready   chan struct{}

	mu   sync.Mutex
	addr string
}

// New returns a server that will listen on cfg.Addr once Run is called.
func New(cfg Config) *Server {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	return &Server{cfg: cfg, handler: NewHandler(), ready: make(chan struct{})}
}

// Handler is the server's handler (its request count included).
func (s *Server) Handler() *Handler { return s.handler }

// Ready is closed once the server listens.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the address the server listens on (the real port when given 0); empty before Ready.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Run listens and serves until ctx is done, then shuts down: requests that
// are waiting (in /delay or /stall) end at once, the others may finish within
// five seconds. It returns after every connection is closed.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()

	// Handlers see this context end when the server stops, so waits end then.
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	close(s.ready)

	select {
	case err := <-served:
		return fmt.Errorf("target: %w", err)
	case <-ctx.Done():
	}
	cancelBase()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(stopCtx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		srv.Close()
		return fmt.Errorf("target: shut down: %w", err)
	}
	return nil
}
