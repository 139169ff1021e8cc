package worker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The breakdown of a request on a new TLS connection has every part; on the
// kept-alive connection after it, no connect and no handshake.
func TestTimingBreakdown(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(5 * time.Millisecond)
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	cfg := baseConfig(task("t", 1, srv.URL+"/"))
	cfg.Client = srv.Client()
	w, err := New(cfg, testConn(t))
	if err != nil {
		t.Fatal(err)
	}
	defer w.client.CloseIdleConnections()
	first := w.do(context.Background(), w.tasks[0][0])
	second := w.do(context.Background(), w.tasks[0][0])
	for i, o := range []outcome{first, second} {
		if o.status != http.StatusOK || o.end.Before(o.start) || o.latencyUs < 5000 {
			t.Fatalf("request %d: %+v", i+1, o)
		}
		// The handler sleeps before its first byte: that is waiting.
		if o.timing.waitingUs < 5000 || o.timing.receivingUs <= 0 || o.timing.waitingUs > o.latencyUs {
			t.Errorf("request %d: %+v of %d µs", i+1, o.timing, o.latencyUs)
		}
	}
	if first.timing.connectingUs <= 0 || first.timing.tlsUs <= 0 {
		t.Errorf("first request, new connection: %+v", first.timing)
	}
	if second.timing.connectingUs != 0 || second.timing.tlsUs != 0 {
		t.Errorf("second request, kept-alive connection: %+v", second.timing)
	}
}
