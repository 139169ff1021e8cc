package worker

import (
	"net"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/latency"
)

// TestFailedRequestsHaveTheirLatency: every request that reached the target
// has a latency, failed or not, and the failed ones are marked apart; a
// refused connection has none and wrote nothing.
func TestFailedRequestsHaveTheirLatency(t *testing.T) {
	tg := newTarget(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + closed.Addr().String() + "/"
	closed.Close()
	const timeout = 200 * time.Millisecond
	cases := []struct {
		name      string
		url       string
		latencies bool // every request has a latency
		failed    bool // and every one is marked failed
		minUs     int64
	}{
		{"ok", tg.URL + "/ok", true, false, 1},
		{"5xx", tg.URL + "/status?code=503", true, true, 1},
		{"timeout", tg.URL + "/block", true, true, timeout.Microseconds()},
		{"reset", tg.URL + "/hijack", true, true, 1},
		{"refused", refusedURL, false, false, 0},
	}
	for _, client := range clients {
		for _, c := range cases {
			t.Run(client+"/"+c.name, func(t *testing.T) {
				cfg := baseConfig(task(c.name, 1, c.url))
				cfg.Spec.HTTPClient = client
				cfg.Spec.TimeoutNs = int64(timeout)
				cfg.Spec.ThinkMinNs = int64(2 * time.Millisecond)
				h := startWorker(t, cfg)
				h.running()
				h.scale(1)
				h.waitUntil("a few requests", func() bool { return sumEvents(h.events()).requests >= 3 })
				h.stop(5*time.Second, false)
				if err := h.wait(); err != nil {
					t.Fatal(err)
				}
				all, failed := latency.New(), latency.New()
				var requests, bytesOut uint64
				for _, ev := range h.events() {
					for _, ep := range ev.Endpoints {
						requests += ep.Requests
						bytesOut += ep.BytesOut
						latency.AddSparse(all, ep.LatencyUs)
						latency.AddSparse(failed, ep.ErrorLatencyUs)
					}
				}
				switch {
				case c.latencies:
					if uint64(all.TotalCount()) != requests {
						t.Errorf("%d latencies for %d requests", all.TotalCount(), requests)
					}
					// The histogram keeps 3 digits: a latency of 200,010 µs
					// shows as its bucket's lowest value, 199,936.
					if lo := all.Min(); lo < c.minUs && !all.ValuesAreEquivalent(lo, c.minUs) {
						t.Errorf("shortest latency %d µs, want ≥ %d", all.Min(), c.minUs)
					}
					if bytesOut == 0 {
						t.Error("no bytes out for requests that were sent")
					}
				default:
					if all.TotalCount() != 0 || bytesOut != 0 {
						t.Errorf("%d latencies and %d bytes out for %d requests never sent", all.TotalCount(), bytesOut, requests)
					}
				}
				wantFailed := int64(0)
				if c.failed {
					wantFailed = all.TotalCount()
				}
				if failed.TotalCount() != wantFailed {
					t.Errorf("%d failed latencies, want %d", failed.TotalCount(), wantFailed)
				}
			})
		}
	}
}

func TestSettle(t *testing.T) {
	start := time.Unix(100, 0)
	end := start.Add(1500 * time.Millisecond)
	for _, c := range []struct {
		kind      int
		latencyUs int64
		bytesOut  uint64
	}{
		{kindTimeout, 1_500_000, 10},
		{kindReset, 1_500_000, 10},
		{kindTLS, 1_500_000, 10},
		{kindOther, 1_500_000, 10},
		{kindRefused, -1, 0},
		{kindDNS, -1, 0},
		{kindCanceled, -1, 10},
	} {
		o := outcome{errKind: c.kind, latencyUs: -1, bytesOut: 10, start: start, end: end}
		o.settle()
		if o.latencyUs != c.latencyUs || o.bytesOut != c.bytesOut {
			t.Errorf("%s: latency %d bytes out %d, want %d %d", errorKinds[c.kind], o.latencyUs, o.bytesOut, c.latencyUs, c.bytesOut)
		}
	}
}
