package worker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// cookieServer answers every request, sets a cookie on its setAt-th one
// (from 1) only, and keeps the Cookie header and the query's i of each
// request in order.
type cookieServer struct {
	mu      sync.Mutex
	cookies []string
	iters   []string
	setAt   int
}

func (c *cookieServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.cookies = append(c.cookies, r.Header.Get("Cookie"))
	c.iters = append(c.iters, r.URL.Query().Get("i"))
	n := len(c.cookies)
	c.mu.Unlock()
	if n == c.setAt {
		w.Header().Set("Set-Cookie", "sid=abc; Path=/")
	}
	w.Write([]byte("ok"))
}

func (c *cookieServer) seen() (cookies, iters []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.cookies), slices.Clone(c.iters)
}

// runIterations runs n closed-model iterations of v as runVU does.
func runIterations(t *testing.T, w *Worker, v *vu, n int) {
	t.Helper()
	for range n {
		if !w.beginIteration(v) {
			t.Fatal("no iteration left")
		}
		w.runIteration(context.Background(), v, time.Time{})
	}
}

// A plain request keeps the fast path while the VU's jar is empty; a cookie
// the server sets mid-run goes with that VU's next requests, on both clients.
func TestCookieSetMidRunIsSentNext(t *testing.T) {
	for _, client := range []string{schemas.HTTPClientAuto, schemas.HTTPClientNetHTTP} {
		t.Run(benchName(client), func(t *testing.T) {
			srv := &cookieServer{setAt: 3}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			spec := schemas.RunSpec{SchemaVersion: schemas.Version, RunID: "run1", Cookies: true, HTTPClient: client,
				Scenario: schemas.Scenario{Tasks: []schemas.Task{{Name: "t", Weight: 1,
					Requests: []schemas.Request{{Name: "r", Method: "GET", URL: ts.URL + "/"}}}}}}
			w, v := scenarioBenchWorker(t, spec)
			runIterations(t, w, v, 2)
			if v.scn.jar != nil {
				t.Fatal("a jar before any cookie was set")
			}
			runIterations(t, w, v, 4)
			got, _ := srv.seen()
			want := []string{"", "", "", "sid=abc", "sid=abc", "sid=abc"}
			if !slices.Equal(got, want) {
				t.Errorf("Cookie headers %q, want %q", got, want)
			}
			eps, iterations := w.agg.collect(w.shards, w.endpoints)
			if len(eps) != 1 || eps[0].Requests != 6 || eps[0].Errors != 0 || iterations != 6 {
				t.Errorf("counted %+v, %d iterations; want 6 requests and iterations, no error", eps, iterations)
			}
		})
	}
}

// With the jar off, a Set-Cookie is ignored: nothing is sent back.
func TestCookiesOffSendsNoCookie(t *testing.T) {
	srv := &cookieServer{setAt: 1}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	spec := schemas.RunSpec{SchemaVersion: schemas.Version, RunID: "run1", Vars: [][2]string{{"x", "1"}},
		Scenario: schemas.Scenario{Tasks: []schemas.Task{{Name: "t", Weight: 1,
			Requests: []schemas.Request{{Name: "r", Method: "GET", URL: ts.URL + "/"}}}}}}
	w, v := scenarioBenchWorker(t, spec)
	runIterations(t, w, v, 3)
	if got, _ := srv.seen(); !slices.Equal(got, []string{"", "", ""}) {
		t.Errorf("Cookie headers %q, want none", got)
	}
	if v.scn.jar != nil {
		t.Error("a jar with cookies off")
	}
}

// A template that reads the iteration number sees each iteration's, past
// the 255 small integers Go boxes for free.
func TestIterationNumberRendered(t *testing.T) {
	srv := &cookieServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	spec := schemas.RunSpec{SchemaVersion: schemas.Version, RunID: "run1", Cookies: true,
		Scenario: schemas.Scenario{Tasks: []schemas.Task{{Name: "t", Weight: 1,
			Requests: []schemas.Request{{Name: "r", Method: "GET", URL: ts.URL + "/?i={{ .iteration }}"}}}}}}
	w, v := scenarioBenchWorker(t, spec)
	const n = 300
	runIterations(t, w, v, n)
	_, iters := srv.seen()
	if len(iters) != n {
		t.Fatalf("%d requests, want %d", len(iters), n)
	}
	for i, got := range iters {
		if want := strconv.Itoa(i + 1); got != want {
			t.Fatalf("request %d rendered iteration %q, want %q", i+1, got, want)
		}
	}
}

// An iteration's duration runs from its start to its last response: taken
// from its requests' own times when nothing comes before the first, and
// never longer than the wall time around it.
func TestIterationBoundsFromItsRequests(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
	}))
	defer ts.Close()
	req := func(url string) schemas.Request { return schemas.Request{Name: "r", Method: "GET", URL: url} }
	spec := func(first string, cookies bool, rps float64) schemas.RunSpec {
		return schemas.RunSpec{SchemaVersion: schemas.Version, RunID: "run1", Cookies: cookies, RPSLimit: rps,
			Vars:     [][2]string{{"p", "x"}},
			Scenario: schemas.Scenario{Tasks: []schemas.Task{{Name: "t", Weight: 1, Requests: []schemas.Request{req(first), req(ts.URL + "/b")}}}}}
	}
	for _, c := range []struct {
		name      string
		spec      schemas.RunSpec
		atRequest bool
	}{
		{"plain", spec(ts.URL+"/a", false, 0), true},
		{"cookies", spec(ts.URL+"/a", true, 0), true},
		{"templated first", spec(ts.URL+"/{{ .p }}", true, 0), false},
		{"rate limited", spec(ts.URL+"/a", true, 1000), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, v := scenarioBenchWorker(t, c.spec)
			if w.startAtRequest != c.atRequest {
				t.Fatalf("startAtRequest %v, want %v", w.startAtRequest, c.atRequest)
			}
			if !w.beginIteration(v) {
				t.Fatal("no iteration")
			}
			before := time.Now()
			w.runIteration(context.Background(), v, time.Time{})
			wall := time.Since(before).Microseconds()
			hist := latency.New()
			latency.AddSparse(hist, w.agg.iterationDurations(w.shards))
			if hist.TotalCount() != 1 {
				t.Fatalf("%d iteration durations, want 1", hist.TotalCount())
			}
			if d := hist.Max(); d < (10*time.Millisecond).Microseconds() || d > wall {
				t.Errorf("iteration %d µs, want between the two requests' 10 ms and the %d µs around it", d, wall)
			}
		})
	}
}
