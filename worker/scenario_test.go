package worker

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

// The fast client's own writer gives the bytes net/http writes for the same
// request, so that what a target sees does not depend on the client.
func TestWriteWireMatchesNetHTTP(t *testing.T) {
	reqs := []schemas.Request{
		{Name: "a", Method: "GET", URL: "http://127.0.0.1:1/me?x=1", Headers: [][2]string{{"authorization", "Bearer {{ .token }}"}, {"X-B", " spaced "}, {"Accept", "a"}, {"accept", "b"}}},
		{Name: "b", Method: "POST", URL: "http://127.0.0.1:1/login", JSON: `{"user":"{{ .token }}","n":1}`},
		{Name: "c", Method: "DELETE", URL: "http://127.0.0.1:1/{{ .token }}/x", Headers: [][2]string{{"User-Agent", "lf {{ .vu }}"}, {"Cookie", "a=1"}, {"Host", "example.test"}}},
		{Name: "d", Method: "PUT", URL: "http://127.0.0.1:1/p", Query: [][2]string{{"q w", "{{ .token }}&"}}, Body: []byte("raw {{ .vu }}")},
		{Name: "e", Method: "GET", URL: "http://127.0.0.1:1/plain", Headers: [][2]string{{"Z-Last", "z"}}},
	}
	spec := schemas.RunSpec{SchemaVersion: schemas.Version, RunID: "run1", Vars: [][2]string{{"token", `t"ok`}}, Cookies: true,
		Scenario: schemas.Scenario{Tasks: []schemas.Task{{Name: "t", Weight: 1, Requests: reqs}}}}
	w, err := New(Config{RunID: "run1", Spec: spec}, testConn(t))
	if err != nil {
		t.Fatal(err)
	}
	v := &vu{stop: make(chan struct{}), shard: w.shards[0], rng: newTestRand()}
	if !w.startScenarioVU(v) {
		t.Fatal("no VU state")
	}
	s := v.scn
	for _, cookie := range []string{"", "sid=abc; other=2"} {
		for _, tm := range w.tasks[0] {
			u, err := w.renderURL(s, tm)
			if err != nil {
				t.Fatal(err)
			}
			req, err := w.buildRequest(s, tm, u, cookie)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if err := req.Write(&want); err != nil {
				t.Fatal(err)
			}
			if err := w.writeWire(s, tm, u, cookie); err != nil {
				t.Fatal(err)
			}
			if got := s.wire.String(); got != want.String() {
				t.Errorf("%s %s with cookie %q:\n got %q\nwant %q", tm.tmpl.Method, u, cookie, got, want.String())
			}
		}
	}
}

// The VU's jar keeps what responses set and sends it back.
func TestCookieHeaderFromTheJar(t *testing.T) {
	s := &vuScenario{}
	u, _ := url.Parse("http://127.0.0.1:1/login")
	s.storeCookies(u, http.Header{"Set-Cookie": {"sid=abc; Path=/", "bad cookie line", "theme=dark; Path=/"}})
	if s.jar == nil {
		t.Fatal("no jar after Set-Cookie")
	}
	other, _ := url.Parse("http://127.0.0.1:1/me")
	if got := cookieHeader(s.jar.Cookies(other)); got != "sid=abc; theme=dark" {
		t.Errorf("cookie header %q", got)
	}
}

// A request whose template cannot be rendered at run time (here an
// extracted value with a line break, put in a header) is not sent, and its
// checks count as failed.
func TestUnrenderableRequestIsNotSentAndFailsItsChecks(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/b" {
			hits.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"v":"line\nbreak"}`))
	}))
	defer srv.Close()
	spec := schemas.RunSpec{SchemaVersion: schemas.Version, RunID: "run1", Scenario: schemas.Scenario{
		Setup: []schemas.Request{{Name: "a", Method: "GET", URL: srv.URL + "/a", Extract: []schemas.Extract{{Name: "v", From: "json", Expr: "v"}}}},
		Tasks: []schemas.Task{{Name: "t", Weight: 1, Requests: []schemas.Request{{Name: "b", Method: "GET", URL: srv.URL + "/b",
			Headers: [][2]string{{"X-V", "{{ .v }}"}}, Checks: []schemas.Check{{Kind: "status", Status: []int{200}}}}}}},
	}}
	w, v := scenarioBenchWorker(t, spec)
	ctx := context.Background()
	w.runRequests(ctx, v, w.setup)
	for range 3 {
		if w.iterate(ctx, v) {
			t.Fatal("an iteration with an unrenderable request ran to its end")
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the server got %d requests it should not have", n)
	}
	eps := w.collectChecks(nil)
	var b *schemas.EndpointMetrics
	for i := range eps {
		if eps[i].Name == "b" {
			b = &eps[i]
		}
	}
	if b == nil || len(b.Checks) != 1 || b.Checks[0].Fails != 3 || b.Checks[0].Passes != 0 {
		t.Errorf("checks %+v", eps)
	}
}
