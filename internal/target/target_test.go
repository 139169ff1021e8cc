package target

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func newServer(t *testing.T) (*httptest.Server, *Handler) {
	t.Helper()
	h := NewHandler()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, h
}

func TestEndpoints(t *testing.T) {
	srv, _ := newServer(t)
	c := srv.Client()
	cases := []struct {
		path     string
		code     int
		contains string
	}{
		{"/", 200, "ok\n"},
		{"/delay?ms=1", 200, "ok\n"},
		{"/delay", 400, "ms: required"},
		{"/delay?ms=-1", 400, "ms: want"},
		{"/delay?ms=x", 400, "ms: want"},
		{"/status?code=503", 503, "503 Service Unavailable"},
		{"/status?code=201", 201, "201"},
		{"/status?code=204", 204, ""},
		{"/status?code=99", 400, "code: want 200 to 599"},
		{"/status?code=101", 400, "code: want 200 to 599"},
		{"/status?code=600", 400, "code: want 200 to 599"},
		{"/status?code=abc", 400, "code: want"},
		{"/status", 400, "code: required"},
		{"/stall?every=1h&ms=0", 200, "ok\n"},
		{"/stall?every=0s", 400, "every: want"},
		{"/stall?ms=-5", 400, "ms: want"},
		{"/nope", 404, ""},
	}
	for _, tc := range cases {
		code, body := get(t, c, srv.URL+tc.path)
		if code != tc.code || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: %d %q, want %d containing %q", tc.path, code, body, tc.code, tc.contains)
		}
	}

	code, body := get(t, c, srv.URL+"/json")
	var doc map[string]any
	if code != 200 || json.Unmarshal([]byte(body), &doc) != nil || len(doc) == 0 {
		t.Errorf("GET /json: %d %q", code, body)
	}

	resp, err := c.Post(srv.URL+"/echo", "application/x-test", strings.NewReader("hello target"))
	if err != nil {
		t.Fatal(err)
	}
	echoed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(echoed) != "hello target" || resp.Header.Get("Content-Type") != "application/x-test" {
		t.Errorf("POST /echo: %q, %q", echoed, resp.Header.Get("Content-Type"))
	}
}

func TestStatsCountsEveryRequestButItself(t *testing.T) {
	srv, h := newServer(t)
	c := srv.Client()
	paths := []string{"/", "/json", "/nope", "/status?code=500", "/delay?ms=0"}
	for _, p := range paths {
		get(t, c, srv.URL+p)
	}
	for range 3 {
		code, body := get(t, c, srv.URL+"/stats")
		var st struct{ Requests uint64 }
		if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 {
			t.Fatalf("/stats: %d %q", code, body)
		}
		if st.Requests != uint64(len(paths)) {
			t.Errorf("/stats says %d requests, %d were sent", st.Requests, len(paths))
		}
	}
	if h.Requests() != uint64(len(paths)) {
		t.Errorf("Requests() = %d, want %d", h.Requests(), len(paths))
	}
}

func TestDelayWaitsAndEndsWhenTheClientLeaves(t *testing.T) {
	srv, _ := newServer(t)
	start := time.Now()
	code, _ := get(t, srv.Client(), srv.URL+"/delay?ms=80")
	if took := time.Since(start); code != 200 || took < 80*time.Millisecond {
		t.Errorf("/delay?ms=80: %d after %s", code, took)
	}

	// A client that gives up must not leave the handler sleeping for a minute:
	// httptest's Close waits for every handler to return.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/delay?ms=60000", nil)
	if _, err := srv.Client().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's deadline, got %v", err)
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("the /delay handler kept running after its client left")
	}
}

func TestStallHoldsRequestsUntilTheStallEnds(t *testing.T) {
	before := time.Now()
	srv, _ := newServer(t) // stall periods start when the handler is made
	// The first second of every hour stalls: this request arrives in it.
	code, _ := get(t, srv.Client(), srv.URL+"/stall?every=1h&ms=1000")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	if ended := time.Since(before); ended < time.Second {
		t.Errorf("answered %s after the handler was made, inside the 1 s stall", ended)
	}
}

func TestServerRunsAndShutsDown(t *testing.T) {
	s := New(Config{Addr: "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	base := "http://" + s.Addr()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	if code, body := get(t, client, base+"/"); code != 200 || body != "ok\n" {
		t.Fatalf("GET /: %d %q", code, body)
	}

	// A request sleeping in /delay ends at once when the server stops.
	delayed := make(chan error, 1)
	go func() {
		resp, err := client.Get(base + "/delay?ms=60000")
		if err == nil {
			resp.Body.Close()
		}
		delayed <- err
	}()
	waitFor(t, func() bool { return s.Handler().Requests() == 2 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	<-delayed
}

func TestServerReportsABusyAddress(t *testing.T) {
	first := New(Config{Addr: "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Run(ctx) }()
	<-first.Ready()
	err := New(Config{Addr: first.Addr()}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second server on %s: %v", first.Addr(), err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// waitFor polls cond (a counter the server bumps on arrival) with a generous bound.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20 s")
		}
		time.Sleep(time.Millisecond)
	}
}
