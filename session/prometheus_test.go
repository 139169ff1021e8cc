package session

import (
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/loadforge/loadforge/internal/pattern"
)

// urlWatcher is a writer that hands over the metrics URL once the run logs it.
type urlWatcher struct {
	mu  sync.Mutex
	buf []byte
	url chan string
}

var metricsURL = regexp.MustCompile(`metrics for Prometheus on (http://\S+/metrics)`)

func (b *urlWatcher) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if m := metricsURL.FindSubmatch(b.buf); m != nil && b.url != nil {
		b.url <- string(m[1])
		b.url = nil
	}
	return len(p), nil
}

// A run with Prometheus set serves its own metrics while it runs.
func TestRunServesPrometheusMetrics(t *testing.T) {
	srv := slowServer(t)
	urls := make(chan string, 1)
	stderr := &urlWatcher{url: urls}
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), Config{
			RunID: "promrun", Spec: spec(srv.URL + "/"), Pattern: pattern.Constant(2, 3*time.Second),
			GracefulStop: time.Second, Prometheus: "127.0.0.1:0", Quiet: true,
			Stdout: io.Discard, Stderr: stderr, Signals: make(chan os.Signal),
		})
		done <- err
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("run ended without serving metrics: %v", err)
	}
	<-srv.started
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	var got float64
	for deadline := time.Now().Add(10 * time.Second); got == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f := fams["loadforge_requests_total"]; f != nil {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "run" && l.GetValue() != "promrun" {
						t.Errorf("series of run %q", l.GetValue())
					}
				}
				got += m.GetCounter().GetValue()
			}
		}
	}
	if got == 0 || got > float64(srv.hits.Load()) {
		t.Errorf("mid-run /metrics counts %v requests; the target has seen %d", got, srv.hits.Load())
	}
	client.CloseIdleConnections()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := client.Get(url); err == nil {
		t.Error("metrics still served after the run")
	}
}
