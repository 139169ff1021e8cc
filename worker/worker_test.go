package worker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

func TestNewRejectsBadConfig(t *testing.T) {
	conn := testConn(t)
	good := func() Config { return baseConfig(task("t", 1, "http://127.0.0.1:1/")) }
	cases := map[string]func(*Config){
		"empty run id":         func(c *Config) { c.RunID = "" },
		"run id with a dot":    func(c *Config) { c.RunID = "a.b" },
		"worker id wildcard":   func(c *Config) { c.WorkerID = "w*" },
		"no tasks":             func(c *Config) { c.Spec.Scenario.Tasks = nil },
		"zero total weight":    func(c *Config) { c.Spec.Scenario.Tasks[0].Weight = 0 },
		"negative weight":      func(c *Config) { c.Spec.Scenario.Tasks = append(c.Spec.Scenario.Tasks, task("u", -1, "http://x/")) },
		"weighted, no request": func(c *Config) { c.Spec.Scenario.Tasks[0].Requests = nil },
		"bad scheme":           func(c *Config) { c.Spec.Scenario.Tasks[0].Requests[0].URL = "ftp://127.0.0.1/" },
		"no host":              func(c *Config) { c.Spec.Scenario.Tasks[0].Requests[0].URL = "http:///x" },
		"bad method":           func(c *Config) { c.Spec.Scenario.Tasks[0].Requests[0].Method = "GE T" },
		"bad header name": func(c *Config) {
			c.Spec.Scenario.Tasks[0].Requests[0].Headers = [][2]string{{"X Y", "1"}}
		},
		"header value newline": func(c *Config) {
			c.Spec.Scenario.Tasks[0].Requests[0].Headers = [][2]string{{"X-Y", "1\r\nEvil: 1"}}
		},
		"bad setup url":       func(c *Config) { c.Spec.Scenario.Setup = []schemas.Request{{URL: "::"}} },
		"flush 300ms":         func(c *Config) { c.FlushInterval = 300 * time.Millisecond },
		"flush 70ms":          func(c *Config) { c.FlushInterval = 70 * time.Millisecond },
		"negative shards":     func(c *Config) { c.Shards = -1 },
		"negative timeout":    func(c *Config) { c.Spec.TimeoutNs = -1 },
		"negative think":      func(c *Config) { c.Spec.ThinkMinNs = -1 },
		"negative rps limit":  func(c *Config) { c.Spec.RPSLimit = -5 },
		"NaN rps limit":       func(c *Config) { c.Spec.RPSLimit = math.NaN() },
		"infinite rps limit":  func(c *Config) { c.Spec.RPSLimit = math.Inf(1) },
		"host header invalid": func(c *Config) { c.Spec.Scenario.Tasks[0].Requests[0].Headers = [][2]string{{"Host", "a\nb"}} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good()
			mutate(&cfg)
			if _, err := New(cfg, conn); err == nil {
				t.Fatal("New accepted the config")
			}
		})
	}
	if _, err := New(good(), nil); err == nil {
		t.Error("New accepted a nil connection")
	}

	w, err := New(good(), conn)
	if err != nil {
		t.Fatal(err)
	}
	if !schemas.ValidToken(w.ID()) || len(w.ID()) < 8 {
		t.Errorf("default worker id %q", w.ID())
	}
	other, _ := New(good(), conn)
	if other.ID() == w.ID() {
		t.Errorf("two workers got the same random id %q", w.ID())
	}
	cfg := good()
	cfg.FlushInterval = 0
	cfg.Shards = 0
	w, err = New(cfg, conn)
	if err != nil {
		t.Fatal(err)
	}
	if w.cfg.FlushInterval != 250*time.Millisecond || len(w.shards) != 4*runtime.GOMAXPROCS(0) || w.timeout != schemas.DefaultTimeout {
		t.Errorf("defaults: flush %v, shards %d, timeout %v", w.cfg.FlushInterval, len(w.shards), w.timeout)
	}
	if w.cfg.Name == "" {
		t.Error("no default name")
	}
}

func TestRunTwiceFails(t *testing.T) {
	h := startWorker(t, baseConfig(task("t", 1, "http://127.0.0.1:1/")))
	if err := h.w.Run(context.Background()); err == nil {
		t.Error("second Run returned nil")
	}
}

// Setup and teardown run once per VU, including VUs stopped by a scale-down
// and VUs started again afterwards.
func TestSetupAndTeardownOncePerVU(t *testing.T) {
	tg := newTarget(t)
	cfg := baseConfig(task("work", 1, tg.URL+"/delay?ms=5"))
	cfg.Spec.Scenario.Setup = []schemas.Request{{Name: "setup", URL: tg.URL + "/ok?setup"}}
	cfg.Spec.Scenario.Teardown = []schemas.Request{{Name: "teardown", URL: tg.URL + "/status?code=204"}}
	h := startWorker(t, cfg)
	h.running()

	h.scale(3)
	h.waitUntil("3 setups and some work", func() bool { return tg.count("/ok") == 3 && tg.count("/delay") >= 6 })
	h.scale(1)
	h.waitUntil("2 VUs to exit", func() bool { return h.w.VUs() == 1 })
	if got := tg.count("/status"); got != 2 {
		t.Errorf("after 3→1 VUs: %d teardowns, want 2", got)
	}
	h.scale(4)
	h.waitUntil("3 more setups", func() bool { return tg.count("/ok") == 6 })
	h.stop(5*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	started := 3 + 3
	if got := tg.count("/ok"); got != started {
		t.Errorf("%d setups, want %d (one per VU started)", got, started)
	}
	if got := tg.count("/status"); got != started {
		t.Errorf("%d teardowns, want %d (one per VU started)", got, started)
	}
	s := sumEvents(h.events())
	if s.endpoint("setup").Requests != uint64(started) || s.endpoint("teardown").Requests != uint64(started) {
		t.Errorf("recorded setup %d, teardown %d, want %d each", s.endpoint("setup").Requests, s.endpoint("teardown").Requests, started)
	}
	if s.endpoint("teardown").StatusCodes["204"] != uint64(started) {
		t.Errorf("teardown status codes %v", s.endpoint("teardown").StatusCodes)
	}
	if s.iterations != uint64(tg.count("/delay")) {
		t.Errorf("%d iterations recorded, target saw %d", s.iterations, tg.count("/delay"))
	}
}

func TestTasksFollowWeights(t *testing.T) {
	tg := newTarget(t)
	h := startWorker(t, baseConfig(
		task("a", 3, tg.URL+"/status?code=200&a"),
		task("never", 0, tg.URL+"/hijack"),
		task("b", 1, tg.URL+"/ok"),
	))
	h.running()
	h.scale(4)
	const want = 2000
	h.waitUntil("enough iterations", func() bool { return tg.total() >= want })
	h.stop(5*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	a, b := float64(tg.count("/status")), float64(tg.count("/ok"))
	if tg.count("/hijack") != 0 {
		t.Errorf("a task of weight 0 ran %d times", tg.count("/hijack"))
	}
	n := a + b
	p := 3.0 / 4
	sigma := math.Sqrt(p * (1 - p) / n)
	if got := a / n; math.Abs(got-p) > 5*sigma {
		t.Errorf("task a ran %.0f of %.0f iterations (%.3f), want %.3f ± %.3f", a, n, got, p, 5*sigma)
	}
}

func TestPickTaskNeverPicksZeroWeight(t *testing.T) {
	tg := newTarget(t)
	w, err := New(baseConfig(
		task("zero1", 0, tg.URL+"/a"), task("two", 2, tg.URL+"/b"),
		task("zero2", 0, tg.URL+"/c"), task("one", 1, tg.URL+"/d"), task("zero3", 0, tg.URL+"/e"),
	), testConn(t))
	if err != nil {
		t.Fatal(err)
	}
	rng := newTestRand()
	counts := make([]int, 5)
	for range 30000 {
		counts[w.pickTask(rng)]++
	}
	if counts[0]+counts[2]+counts[4] != 0 {
		t.Fatalf("zero-weight tasks picked: %v", counts)
	}
	if r := float64(counts[1]) / float64(counts[1]+counts[3]); math.Abs(r-2.0/3) > 0.02 {
		t.Errorf("weights 2:1 picked %v", counts)
	}
}

func TestThinkTimeBetweenIterations(t *testing.T) {
	tg := newTarget(t)
	const think = 50 * time.Millisecond
	cfg := baseConfig(task("t", 1, tg.URL+"/ok"))
	cfg.Spec.ThinkMinNs = int64(think)
	cfg.Spec.ThinkMaxNs = int64(think)
	h := startWorker(t, cfg)
	h.running()
	const vus = 2
	began := time.Now()
	h.scale(vus)
	// A window of several think times, measured by the worker's own events.
	h.waitUntil("a few intervals", func() bool { return len(h.events()) >= 8 && tg.total() >= vus })
	h.stop(5*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	window := time.Since(began)
	maxPerVU := int(window/think) + 1
	if got := tg.total(); got > vus*maxPerVU {
		t.Errorf("%d iterations in %v by %d VUs thinking %v: more than %d", got, window, vus, think, vus*maxPerVU)
	}
}

func TestThinkTimeIsUniformInRange(t *testing.T) {
	w := &Worker{thinkMin: 10 * time.Millisecond, thinkMax: 30 * time.Millisecond}
	rng := newTestRand()
	var sum time.Duration
	const n = 20000
	for range n {
		d := w.thinkTime(rng)
		if d < w.thinkMin || d > w.thinkMax {
			t.Fatalf("think %v outside [%v, %v]", d, w.thinkMin, w.thinkMax)
		}
		sum += d
	}
	if mean := sum / n; mean < 19*time.Millisecond || mean > 21*time.Millisecond {
		t.Errorf("mean think %v, want about 20ms", mean)
	}
}

// A long think time does not hold up a stop.
func TestStopInterruptsThinkTime(t *testing.T) {
	tg := newTarget(t)
	cfg := baseConfig(task("t", 1, tg.URL+"/ok"))
	cfg.Spec.ThinkMinNs = int64(time.Hour)
	h := startWorker(t, cfg)
	h.running()
	h.scale(2)
	h.waitUntil("first iterations", func() bool { return tg.total() == 2 })
	h.stop(time.Hour, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
}

func TestScaleIsLIFO(t *testing.T) {
	tg := newTarget(t)
	h := startWorker(t, baseConfig(task("t", 1, tg.URL+"/delay?ms=20")))
	h.running()
	waitIDs := func(want ...int) {
		t.Helper()
		h.waitUntil(fmt.Sprint("VUs ", want), func() bool {
			return slices.Equal(h.w.pool.ids(), want) && h.w.VUs() == len(want)
		})
	}
	h.scale(5)
	waitIDs(0, 1, 2, 3, 4)
	h.scale(2)
	waitIDs(0, 1)
	h.scale(4)
	waitIDs(0, 1, 5, 6)
	// A stale command (older seq) is ignored: had it applied, ids 0 and 1 would be gone.
	h.scaleWithSeq(1, 0)
	h.scale(3)
	waitIDs(0, 1, 5)
	h.stop(5*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	if kinds := sumEvents(h.events()).endpoint("t").ErrorsByKind; len(kinds) != 0 {
		t.Errorf("scale-down cut requests short: %v", kinds)
	}
}

func TestGracefulStopLetsIterationsFinish(t *testing.T) {
	tg := newTarget(t)
	const delay = 200 * time.Millisecond
	h := startWorker(t, baseConfig(task("slow", 1, tg.URL+"/delay?ms=200")))
	h.running()
	h.scale(3)
	h.waitUntil("3 requests in flight", func() bool { return tg.inflight.Load() == 3 })
	h.stop(2*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	s := sumEvents(h.events())
	e := s.endpoint("slow")
	if e.Errors != 0 {
		t.Errorf("errors after a graceful stop: %v", e.ErrorsByKind)
	}
	if e.Requests != uint64(tg.total()) || e.Requests < 3 {
		t.Errorf("recorded %d requests, target saw %d", e.Requests, tg.total())
	}
	var samples int64
	for _, p := range e.LatencyUs {
		samples += p[1]
		if float64(p[0]) < 0.99*float64(delay.Microseconds()) {
			t.Errorf("latency %d µs below the server's delay of %v", p[0], delay)
		}
	}
	if samples != int64(e.Requests) {
		t.Errorf("%d latency samples for %d requests", samples, e.Requests)
	}
}

func TestStopCancelsInFlight(t *testing.T) {
	cases := []struct {
		name  string
		grace time.Duration
		hard  bool
	}{
		{"hard", time.Hour, true},
		{"graceful 0", 0, false},
		{"graceful expires", 300 * time.Millisecond, false},
	}
	for _, client := range clients {
		for _, c := range cases {
			t.Run(client+"/"+c.name, func(t *testing.T) {
				tg := newTarget(t)
				cfg := baseConfig(task("block", 1, tg.URL+"/block"))
				cfg.Spec.HTTPClient = client
				cfg.Spec.Scenario.Teardown = []schemas.Request{{Name: "teardown", URL: tg.URL + "/ok"}}
				h := startWorker(t, cfg)
				h.running()
				h.scale(3)
				h.waitUntil("3 requests in flight", func() bool { return tg.inflight.Load() == 3 })
				h.stop(c.grace, c.hard)
				if err := h.wait(); err != nil {
					t.Fatal(err)
				}
				e := sumEvents(h.events()).endpoint("block")
				if e.Requests != 3 || e.Errors != 3 || e.ErrorsByKind[schemas.ErrCanceled] != 3 {
					t.Errorf("requests %d, errors %d %v; want 3 canceled", e.Requests, e.Errors, e.ErrorsByKind)
				}
				if len(e.StatusCodes) != 0 {
					t.Errorf("status codes for requests without a response: %v", e.StatusCodes)
				}
				if n := tg.count("/ok"); n != 0 {
					t.Errorf("%d teardown requests after in-flight requests were cancelled", n)
				}
			})
		}
	}
}

// Cancelling Run's context stops at once, yet still reports.
func TestContextEndStopsHard(t *testing.T) {
	for _, client := range clients {
		t.Run(client, func(t *testing.T) {
			tg := newTarget(t)
			cfg := baseConfig(task("block", 1, tg.URL+"/block"))
			cfg.Spec.HTTPClient = client
			h := startWorker(t, cfg)
			h.running()
			h.scale(2)
			h.waitUntil("2 requests in flight", func() bool { return tg.inflight.Load() == 2 })
			h.cancel()
			if err := h.wait(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Run returned %v, want context.Canceled", err)
			}
			evs := h.events()
			if len(evs) == 0 || !evs[len(evs)-1].Final {
				t.Fatal("no final event")
			}
			if e := sumEvents(evs).endpoint("block"); e.ErrorsByKind[schemas.ErrCanceled] != 2 {
				t.Errorf("errors %v, want 2 canceled", e.ErrorsByKind)
			}
		})
	}
}

// Every error kind comes out the same with both clients.
func TestErrorClassification(t *testing.T) {
	tg := newTarget(t)
	tlsTarget := newTLSTarget(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + closed.Addr().String() + "/"
	closed.Close()

	cases := []struct {
		name    string
		url     string
		timeout time.Duration
		kind    string
		status  string // status code counted, if any
		served  bool   // the target sees every request
	}{
		{"refused", refusedURL, 0, schemas.ErrRefused, "", false},
		{"timeout", tg.URL + "/block", 50 * time.Millisecond, schemas.ErrTimeout, "", true},
		{"4xx", tg.URL + "/status?code=404", 0, schemas.ErrHTTP4xx, "404", true},
		{"5xx", tg.URL + "/status?code=503", 0, schemas.ErrHTTP5xx, "503", true},
		{"reset", tg.URL + "/hijack", 0, schemas.ErrReset, "", true},
		{"dns", "http://loadforge-test.invalid/", 0, schemas.ErrDNS, "", false},
		{"tls", tlsTarget + "/", 0, schemas.ErrTLS, "", false},
	}
	for _, client := range clients {
		for _, c := range cases {
			t.Run(client+"/"+c.name, func(t *testing.T) {
				path := strings.SplitN(strings.TrimPrefix(c.url, tg.URL), "?", 2)[0]
				before := tg.count(path)
				cfg := baseConfig(task(c.name, 1, c.url))
				cfg.Spec.HTTPClient = client
				cfg.Spec.TimeoutNs = int64(c.timeout)
				cfg.Spec.ThinkMinNs = int64(2 * time.Millisecond)
				h := startWorker(t, cfg)
				h.running()
				h.scale(1)
				h.waitUntil("a few requests", func() bool { return sumEvents(h.events()).requests >= 3 })
				h.stop(5*time.Second, false)
				if err := h.wait(); err != nil {
					t.Fatal(err)
				}
				e := sumEvents(h.events()).endpoint(c.name)
				if e.Errors != e.Requests || e.ErrorsByKind[c.kind] != e.Requests || len(e.ErrorsByKind) != 1 {
					t.Errorf("requests %d, errors %d by kind %v; want all %s", e.Requests, e.Errors, e.ErrorsByKind, c.kind)
				}
				wantCodes := map[string]uint64{}
				if c.status != "" {
					wantCodes[c.status] = e.Requests
				}
				if !mapsEqual(e.StatusCodes, wantCodes) {
					t.Errorf("status codes %v, want %v", e.StatusCodes, wantCodes)
				}
				if c.served {
					if got := tg.count(path) - before; uint64(got) != e.Requests {
						t.Errorf("target saw %d requests, worker counted %d", got, e.Requests)
					}
				}
				if want := wantClient(client); strings.HasPrefix(c.url, "http:") && e.HTTPClient != want {
					t.Errorf("sent with %q, want %q", e.HTTPClient, want)
				}
			})
		}
	}
}

func mapsEqual(a, b map[string]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Every request counts once, and the byte counts approximate the wire.
func TestTotalsMatchTarget(t *testing.T) {
	for _, client := range clients {
		t.Run(client, func(t *testing.T) { testTotalsMatchTarget(t, client) })
	}
}

func testTotalsMatchTarget(t *testing.T, client string) {
	tg := newTarget(t)
	body := []byte(strings.Repeat("b", 100))
	cfg := baseConfig(
		schemas.Task{Name: "mixed", Weight: 1, Requests: []schemas.Request{
			{Name: "ok", Method: http.MethodPost, URL: tg.URL + "/ok", Body: body, Headers: [][2]string{{"Content-Type", "text/plain"}, {"X-Trace", "abc"}}},
			{Name: "missing", URL: tg.URL + "/status?code=404"},
			{Name: "broken", URL: tg.URL + "/status?code=500"},
			{Name: "moved", URL: tg.URL + "/redirect"},
		}},
	)
	cfg.Spec.HTTPClient = client
	h := startWorker(t, cfg)
	h.running()
	h.scale(4)
	h.waitUntil("traffic", func() bool { return tg.total() >= 600 })
	h.stop(5*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	s := sumEvents(h.events())
	if s.requests != uint64(tg.total()) {
		t.Errorf("events count %d requests, target saw %d", s.requests, tg.total())
	}
	ok, missing, broken := s.endpoint("ok"), s.endpoint("missing"), s.endpoint("broken")
	if ok.Requests != uint64(tg.count("/ok")) || ok.Errors != 0 || ok.StatusCodes["200"] != ok.Requests {
		t.Errorf("ok: %+v (target saw %d)", ok, tg.count("/ok"))
	}
	if missing.Errors != missing.Requests || missing.StatusCodes["404"] != missing.Requests || missing.ErrorsByKind[schemas.ErrHTTP4xx] != missing.Requests {
		t.Errorf("404s: %+v", missing)
	}
	if broken.Errors != broken.Requests || broken.StatusCodes["500"] != broken.Requests || broken.ErrorsByKind[schemas.ErrHTTP5xx] != broken.Requests {
		t.Errorf("500s: %+v", broken)
	}
	if moved := s.endpoint("moved"); moved.Errors != 0 || moved.StatusCodes["302"] != moved.Requests || moved.Requests == 0 {
		t.Errorf("redirects: %+v", moved)
	}
	if ok.BytesOut < ok.Requests*uint64(len(body)) || ok.BytesIn < ok.Requests*1000 {
		t.Errorf("ok: bytes out %d, in %d for %d requests", ok.BytesOut, ok.BytesIn, ok.Requests)
	}
	var in, out uint64
	for _, e := range s.byName {
		in += e.BytesIn
		out += e.BytesOut
	}
	near := func(what string, got uint64, wire int64) {
		if r := float64(got) / float64(wire); r < 0.9 || r > 1.1 {
			t.Errorf("%s: counted %d bytes, the wire carried %d", what, got, wire)
		}
	}
	near("bytes out", out, tg.read.Load())
	near("bytes in", in, tg.written.Load())
	h.rec.mu.Lock()
	bye := *h.rec.bye
	h.rec.mu.Unlock()
	if bye.Requests != s.requests || bye.Errors != s.errors {
		t.Errorf("bye totals %d/%d, events %d/%d", bye.Requests, bye.Errors, s.requests, s.errors)
	}
}

func TestEventStream(t *testing.T) {
	for _, viaScale := range []bool{false, true} {
		name := "t0 from running"
		if viaScale {
			name = "t0 from scale"
		}
		t.Run(name, func(t *testing.T) {
			tg := newTarget(t)
			cfg := baseConfig(task("t", 1, tg.URL+"/delay?ms=3"))
			cfg.WorkerID = "w-1"
			cfg.Name = "tester"
			h := startWorker(t, cfg)
			if viaScale {
				// No running state: the scale command's plan time gives t0.
				h.t0 = time.Now().Add(-1234 * time.Millisecond)
			} else {
				h.running()
			}
			h.scale(2)
			h.waitUntil("a heartbeat with a sequence", func() bool {
				h.rec.mu.Lock()
				defer h.rec.mu.Unlock()
				return len(h.rec.beats) > 0 && h.rec.beats[len(h.rec.beats)-1].LastSeq > 0 && len(h.rec.events) >= 6
			})
			h.stop(5*time.Second, false)
			if err := h.wait(); err != nil {
				t.Fatal(err)
			}
			r := h.rec
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.badDecode) != 0 {
				t.Fatalf("undecodable messages: %v", r.badDecode)
			}
			if len(r.hellos) != 1 || r.hellos[0].WorkerID != "w-1" || r.hellos[0].Name != "tester" || r.hellos[0].PID == 0 {
				t.Errorf("hellos %+v", r.hellos)
			}
			if r.afterBye != 0 {
				t.Errorf("%d messages after bye", r.afterBye)
			}
			t0 := h.t0.UnixNano()
			fi := int64(cfg.FlushInterval)
			var prevEnd int64
			for i, ev := range r.events {
				if ev.Seq != uint64(i+1) {
					t.Fatalf("event %d has seq %d", i, ev.Seq)
				}
				if ev.Final != (i == len(r.events)-1) {
					t.Errorf("event %d: final %v", ev.Seq, ev.Final)
				}
				if ev.RunID != "run1" || ev.WorkerID != "w-1" || ev.SchemaVersion != schemas.Version {
					t.Errorf("event %d: ids %q %q v%d", ev.Seq, ev.RunID, ev.WorkerID, ev.SchemaVersion)
				}
				if (ev.EndNs-t0)%fi != 0 || ev.EndNs <= ev.StartNs || ev.EndNs-ev.StartNs > fi || ev.StartNs < prevEnd {
					t.Errorf("event %d: interval (%d, %d] ns after t0, previous end %d", ev.Seq, ev.StartNs-t0, ev.EndNs-t0, prevEnd-t0)
				}
				if ev.Endpoints == nil {
					t.Errorf("event %d: nil endpoints", ev.Seq)
				}
				prevEnd = ev.EndNs
			}
			last := r.events[len(r.events)-1]
			if r.bye.LastSeq != last.Seq || r.bye.WorkerID != "w-1" {
				t.Errorf("bye %+v, last seq %d", r.bye, last.Seq)
			}
			s := sumEvents(r.events)
			if r.bye.Requests != s.requests || r.bye.Errors != s.errors || s.requests != uint64(tg.total()) {
				t.Errorf("bye %d/%d, events %d/%d, target %d", r.bye.Requests, r.bye.Errors, s.requests, s.errors, tg.total())
			}
			sawTwo := false
			for _, ev := range r.events {
				sawTwo = sawTwo || ev.VUs == 2
			}
			if !sawTwo || last.VUs != 0 {
				t.Errorf("VUs in events: saw 2 %v, final %d", sawTwo, last.VUs)
			}
			for _, hb := range r.beats {
				if hb.WorkerID != "w-1" || hb.LastSeq > last.Seq {
					t.Errorf("heartbeat %+v", hb)
				}
			}
		})
	}
}

// With no traffic the events keep flowing, empty.
func TestEmptyEventsFlow(t *testing.T) {
	h := startWorker(t, baseConfig(task("t", 1, "http://127.0.0.1:1/")))
	h.running()
	h.waitUntil("5 events", func() bool { return len(h.events()) >= 5 })
	h.stop(time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	for _, ev := range h.events() {
		if len(ev.Endpoints) != 0 || ev.VUs != 0 || ev.Iterations != 0 {
			t.Errorf("event %d not empty: %+v", ev.Seq, ev)
		}
	}
}

// A stop before any t0 still ends with a final event and a bye.
func TestStopBeforeRunning(t *testing.T) {
	h := startWorker(t, baseConfig(task("t", 1, "http://127.0.0.1:1/")))
	h.publish(schemas.KindState, &schemas.SessionState{SchemaVersion: schemas.Version, RunID: "run1", State: schemas.StateStopping, Hard: true})
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	evs := h.events()
	if len(evs) != 1 || !evs[0].Final || evs[0].Seq != 1 {
		t.Errorf("events %+v", evs)
	}
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	if h.rec.bye.LastSeq != 1 {
		t.Errorf("bye last seq %d", h.rec.bye.LastSeq)
	}
}

func TestRPSLimitEndToEnd(t *testing.T) {
	tg := newTarget(t)
	const limit = 200
	cfg := baseConfig(task("t", 1, tg.URL+"/ok"))
	cfg.Spec.RPSLimit = limit
	h := startWorker(t, cfg)
	h.running()
	h.scale(10)
	t0 := h.t0.UnixNano()
	second := t0 + int64(time.Second)
	h.waitUntil("the first second's events", func() bool {
		evs := h.events()
		return len(evs) > 0 && evs[len(evs)-1].EndNs >= second
	})
	h.stop(5*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, ev := range h.events() {
		if ev.EndNs <= second {
			for _, e := range ev.Endpoints {
				n += e.Requests
			}
		}
	}
	// A second's worth (slots t0 + k/limit, k < limit), give or take what an
	// event closed a little late holds; well above half of it.
	if hi := uint64(limit + limit/50); n > hi || n < limit/2 {
		t.Errorf("%d requests in the first second with a limit of %d/s", n, limit)
	}
}

func TestClassify(t *testing.T) {
	live := context.Background()
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	opErr := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	cases := []struct {
		name string
		ctx  context.Context
		err  error
		want string
	}{
		{"canceled by stop", stopped, errors.New("read: connection reset by peer"), schemas.ErrCanceled},
		{"deadline", live, context.DeadlineExceeded, schemas.ErrTimeout},
		{"refused", live, opErr(os.NewSyscallError("connect", syscall.ECONNREFUSED)), schemas.ErrRefused},
		{"reset", live, opErr(os.NewSyscallError("read", syscall.ECONNRESET)), schemas.ErrReset},
		{"broken pipe", live, opErr(os.NewSyscallError("write", syscall.EPIPE)), schemas.ErrReset},
		{"eof", live, fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", io.EOF), schemas.ErrReset},
		{"unexpected eof", live, io.ErrUnexpectedEOF, schemas.ErrReset},
		{"dial timeout", live, opErr(timeoutError{}), schemas.ErrTimeout},
		{"dns", live, opErr(&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}), schemas.ErrDNS},
		{"tls alert", live, fmt.Errorf("handshake: %w", tls.AlertError(42)), schemas.ErrTLS},
		{"tls record", live, tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, schemas.ErrTLS},
		{"x509", live, &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, schemas.ErrTLS},
		{"tls text", live, errors.New("remote error: tls: bad certificate"), schemas.ErrTLS},
		{"other", live, errors.New("something odd"), schemas.ErrOther},
	}
	for _, c := range cases {
		if got := errorKinds[classify(c.ctx, c.err)]; got != c.want {
			t.Errorf("%s: %v classified %q, want %q", c.name, c.err, got, c.want)
		}
	}
}

func TestIntervalsAlignToT0(t *testing.T) {
	ms := int64(time.Millisecond)
	iv := intervals{fi: 250 * ms}
	t0 := int64(1_000_000) * ms
	iv.begin(t0, t0+30*ms)
	if iv.nextEnd() != t0+250*ms {
		t.Fatalf("first end %d", iv.nextEnd()-t0)
	}
	if s, e := iv.tick(t0 + 251*ms); s != t0 || e != t0+250*ms {
		t.Errorf("tick: (%d, %d]", s-t0, e-t0)
	}
	// A tick 600 ms late closes the last boundary passed.
	if s, e := iv.tick(t0 + 1100*ms); s != t0+750*ms || e != t0+1000*ms {
		t.Errorf("late tick: (%d, %d]", (s-t0)/ms, (e-t0)/ms)
	}
	if s, e := iv.final(t0 + 1010*ms); s != t0+1000*ms || e != t0+1250*ms {
		t.Errorf("final: (%d, %d]", (s-t0)/ms, (e-t0)/ms)
	}
	// Learning t0 late starts at the interval holding now.
	late := intervals{fi: 250 * ms}
	late.begin(t0, t0+1300*ms)
	if late.nextEnd() != t0+1500*ms {
		t.Errorf("late begin: next end %d", (late.nextEnd()-t0)/ms)
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

// newTLSTarget is an HTTPS server whose certificate nobody trusts; it returns its URL.
func newTLSTarget(t *testing.T) string {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	// The handshake failures it sees are the point; keep them out of the test log.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}
