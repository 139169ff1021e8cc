package session

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
)

// syncBuffer is a log sink the stages may write from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The bus's drain deadline starts at the end of the run: a run longer than
// the deadline (here 2 s against 1 s, as a 10 s run against the default 5 s)
// still closes its bus by draining it.
func TestLongRunClosesTheBusByDraining(t *testing.T) {
	saved := busCloseTimeout
	busCloseTimeout = time.Second
	t.Cleanup(func() { busCloseTimeout = saved })
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	var logs syncBuffer
	res, err := Run(context.Background(), Config{
		Name: "long", Spec: spec(srv.URL + "/"), Pattern: pattern.Constant(1, 2*time.Second),
		GracefulStop: time.Second, Quiet: true, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{},
		Signals: make(chan os.Signal),
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != schemas.StateCompleted {
		t.Errorf("state %q", res.State)
	}
	if strings.Contains(logs.String(), "bus closed before it drained") {
		t.Errorf("the bus did not drain:\n%s", logs.String())
	}
}

// The summary's URL lines name their endpoints: three requests to one URL
// (a checkout posting to /echo three times) stay apart.
func TestSummaryURLLinesNameEndpoints(t *testing.T) {
	var b bytes.Buffer
	printSummary(&b, &schemas.Result{Name: "s", Totals: schemas.Totals{Requests: 2}, Endpoints: []schemas.EndpointResult{
		{Name: "add to cart", Method: "POST", URL: "http://h/echo", Requests: 1},
		{Name: "GET http://h/", Method: "GET", URL: "http://h/", Requests: 1},
	}})
	out := b.String()
	if !strings.Contains(out, "  add to cart: POST http://h/echo: status") || !strings.Contains(out, "  GET http://h/: status") {
		t.Errorf("summary:\n%s", out)
	}
}
