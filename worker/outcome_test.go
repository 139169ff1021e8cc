package worker

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// Both clients fill an outcome alike: the send and end instants, and the
// breakdown of a plain-http request: connecting on the request that opened
// the connection only, no TLS, waiting up to the first response byte and
// receiving after it, all within the latency.
func TestOutcomeTimingPlainHTTP(t *testing.T) {
	const delay = 5 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(delay) // before the first byte: that is waiting
		_, _ = w.Write([]byte(strings.Repeat("b", 20_000)))
	}))
	defer srv.Close()
	for _, client := range clients {
		t.Run(client, func(t *testing.T) {
			cfg := baseConfig(task("t", 1, srv.URL+"/"))
			cfg.Spec.HTTPClient = client
			w, err := New(cfg, testConn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer w.client.CloseIdleConnections()
			v := &vu{stop: make(chan struct{}), shard: w.shards[0], rng: newTestRand(), fast: w.fast.NewSession()}
			defer v.fast.Close()
			var outs []outcome
			for range 3 {
				outs = append(outs, w.send(context.Background(), v, w.tasks[0][0]))
			}
			for i, o := range outs {
				tm := o.timing
				switch {
				case o.status != http.StatusOK || o.unsent || o.end.Before(o.start):
					t.Fatalf("request %d: %+v", i+1, o)
				case absDur(o.end.Sub(o.start)-time.Duration(o.latencyUs)*time.Microsecond) > time.Microsecond:
					t.Errorf("request %d: latency %d µs, from send to end %v", i+1, o.latencyUs, o.end.Sub(o.start))
				case tm.waitingUs < delay.Microseconds() || tm.receivingUs <= 0 || tm.tlsUs != 0:
					t.Errorf("request %d: breakdown %+v", i+1, tm)
				case tm.connectingUs+tm.waitingUs+tm.receivingUs > o.latencyUs+3: // each part rounds up to 1 µs at least
					t.Errorf("request %d: breakdown %+v exceeds the latency, %d µs", i+1, tm, o.latencyUs)
				}
			}
			if outs[0].timing.connectingUs <= 0 {
				t.Errorf("first request, new connection: %+v", outs[0].timing)
			}
			for i, o := range outs[1:] {
				if o.timing.connectingUs != 0 {
					t.Errorf("request %d, kept-alive connection: %+v", i+2, o.timing)
				}
			}
		})
	}
}

// sinkServer accepts connections and reads the first bytes of each, then
// reads no more: a request larger than the socket buffers stays half written.
type sinkServer struct {
	*tcpServer
	got atomic.Int64 // connections whose first bytes arrived
}

func newSinkServer(t *testing.T) *sinkServer {
	s := &sinkServer{}
	s.tcpServer = startTCPServer(t, func(c net.Conn) {
		if _, err := io.ReadFull(c, make([]byte, 16)); err == nil {
			s.got.Add(1)
		}
	})
	return s
}

// A request cut off by a hard stop while its body is still being written
// never reached the target as a request: neither client counts it.
func TestRequestCutOffWhileWritingIsNotCounted(t *testing.T) {
	body := make([]byte, 64<<20) // far more than loopback's socket buffers
	for _, client := range clients {
		t.Run(client, func(t *testing.T) {
			sink := newSinkServer(t)
			cfg := baseConfig(schemas.Task{Name: "upload", Weight: 1, Requests: []schemas.Request{
				{Name: "upload", Method: http.MethodPost, URL: "http://" + sink.addr() + "/up", Body: body},
			}})
			cfg.Spec.HTTPClient = client
			h := startWorker(t, cfg)
			h.running()
			h.scale(2)
			h.waitUntil("2 uploads under way", func() bool { return sink.got.Load() == 2 })
			h.stop(0, true)
			if err := h.wait(); err != nil {
				t.Fatal(err)
			}
			if s := sumEvents(h.events()); s.requests != 0 {
				t.Errorf("counted %d requests (%+v); none was written in full", s.requests, s.endpoint("upload"))
			}
		})
	}
}

// A hard stop cuts off the open model's requests in flight with either
// client, and the worker ends at once.
func TestOpenModelHardStopCutsOff(t *testing.T) {
	for _, client := range clients {
		t.Run(client, func(t *testing.T) {
			tg := newTarget(t)
			cfg := baseConfig(task("block", 1, tg.URL+"/block"))
			cfg.Spec.HTTPClient = client
			h := startWorker(t, cfg)
			h.running()
			h.openScale(schemas.ArrivalRate{Stages: []schemas.RateStage{{DurationNs: 0, Rate: 50}, {DurationNs: int64(time.Minute), Rate: 50}},
				MaxVUs: 3, PreAllocatedVUs: 3})
			h.waitUntil("3 requests in flight", func() bool { return tg.inflight.Load() == 3 })
			h.stop(time.Minute, true)
			if err := h.wait(); err != nil {
				t.Fatal(err)
			}
			e := sumEvents(h.events()).endpoint("block")
			if e.Requests != 3 || e.ErrorsByKind[schemas.ErrCanceled] != 3 {
				t.Errorf("requests %d, errors %v; want 3 canceled", e.Requests, e.ErrorsByKind)
			}
			if e.HTTPClient != wantClient(client) {
				t.Errorf("sent with %q, want %q", e.HTTPClient, wantClient(client))
			}
		})
	}
}
