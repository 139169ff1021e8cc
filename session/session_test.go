package session

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// countingServer counts requests as they arrive and signals the first one.
type countingServer struct {
	*httptest.Server
	hits    atomic.Uint64
	started chan struct{}
}

func newCountingServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) *countingServer {
	cs := &countingServer{started: make(chan struct{})}
	var once atomic.Bool
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.hits.Add(1)
		if once.CompareAndSwap(false, true) {
			close(cs.started)
		}
		handle(w, r)
	}))
	t.Cleanup(cs.Close)
	return cs
}

func spec(url string) schemas.RunSpec {
	req := schemas.Request{Name: "GET /", Method: http.MethodGet, URL: url}
	return schemas.RunSpec{Scenario: schemas.Scenario{Tasks: []schemas.Task{{Name: "t", Weight: 1, Requests: []schemas.Request{req}}}}}
}

// slowServer answers "ok" after 2 ms, counting requests.
func slowServer(t *testing.T) *countingServer {
	return newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		w.Write([]byte("ok"))
	})
}

// checkCounted fails unless res ended in state and counts exactly the
// requests srv saw, at least one.
func checkCounted(t *testing.T, res *schemas.Result, srv *countingServer, state string) {
	t.Helper()
	if res.State != state {
		t.Errorf("state %q, want %s", res.State, state)
	}
	if got, want := res.Totals.Requests, srv.hits.Load(); got != want || got == 0 {
		t.Errorf("result counts %d requests, the server saw %d", got, want)
	}
}

func checkSums(t *testing.T, r *schemas.Result) {
	t.Helper()
	var sum, errs uint64
	for _, row := range r.Timeline {
		sum += row.Requests
		errs += row.Errors
	}
	if sum != r.Totals.Requests || errs != r.Totals.Errors {
		t.Errorf("timeline sums to %d requests / %d errors, totals say %d / %d", sum, errs, r.Totals.Requests, r.Totals.Errors)
	}
	var ep uint64
	for _, e := range r.Endpoints {
		ep += e.Requests
	}
	if ep != r.Totals.Requests {
		t.Errorf("endpoints sum to %d requests, totals say %d", ep, r.Totals.Requests)
	}
}

func TestRunCompletesAndCountsEveryRequest(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	out := filepath.Join(t.TempDir(), "result.json")
	var stdout, stderr bytes.Buffer
	res, err := Run(context.Background(), Config{
		Name:         "complete",
		Spec:         spec(srv.URL + "/"),
		Pattern:      pattern.Constant(3, 1500*time.Millisecond),
		GracefulStop: 2 * time.Second,
		OutPath:      out,
		Stdout:       &stdout,
		Stderr:       &stderr,
		Signals:      make(chan os.Signal),
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounted(t, res, srv, schemas.StateCompleted)
	if res.Totals.StatusCodes["200"] != res.Totals.Requests {
		t.Errorf("status 200 count %d, want %d", res.Totals.StatusCodes["200"], res.Totals.Requests)
	}
	checkSums(t, res)
	if len(res.Timeline) < 1 || len(res.Timeline) > 3 {
		t.Errorf("%d timeline rows for a 1.5 s run", len(res.Timeline))
	}

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc schemas.Result
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Totals.Requests != res.Totals.Requests || doc.RunID != res.RunID {
		t.Errorf("--out holds %d requests for run %q, want %d for %q", doc.Totals.Requests, doc.RunID, res.Totals.Requests, res.RunID)
	}
	if !bytes.Contains(stdout.Bytes(), []byte("GET /")) {
		t.Errorf("summary lacks the endpoint:\n%s", stdout.String())
	}
}

func TestFirstSignalDrainsGracefully(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		w.Write([]byte("ok"))
	})
	signals := make(chan os.Signal, 2)
	go func() {
		<-srv.started
		signals <- syscall.SIGINT
	}()
	out := filepath.Join(t.TempDir(), "result.json")
	began := time.Now()
	res, err := Run(context.Background(), Config{
		Spec:         spec(srv.URL + "/"),
		Pattern:      pattern.Constant(4, time.Minute),
		GracefulStop: 5 * time.Second,
		OutPath:      out,
		Quiet:        true,
		Stdout:       &bytes.Buffer{},
		Stderr:       &bytes.Buffer{},
		Signals:      signals,
	})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(began); elapsed > 30*time.Second {
		t.Errorf("an interrupted one-minute run took %s", elapsed)
	}
	checkCounted(t, res, srv, schemas.StateInterrupted)
	// In-flight iterations (50 ms) fit well inside the graceful stop: none is cut off.
	if n := res.Totals.ErrorsByKind[schemas.ErrCanceled]; n != 0 {
		t.Errorf("%d requests canceled within a 5 s graceful stop", n)
	}
	checkSums(t, res)
	if _, err := os.Stat(out); err != nil {
		t.Errorf("result not written: %v", err)
	}
}

func TestSecondSignalStopsAtOnce(t *testing.T) {
	// Each request hangs until the client gives up on it.
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	signals := make(chan os.Signal, 2)
	go func() {
		<-srv.started
		signals <- syscall.SIGINT
		signals <- syscall.SIGINT
	}()
	began := time.Now()
	res, err := Run(context.Background(), Config{
		Spec:         spec(srv.URL + "/"),
		Pattern:      pattern.Constant(3, time.Minute),
		GracefulStop: time.Minute,
		Quiet:        true,
		Stdout:       &bytes.Buffer{},
		Stderr:       &bytes.Buffer{},
		Signals:      signals,
	})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(began); elapsed > 20*time.Second {
		t.Errorf("a second signal should stop at once, the run took %s against a one-minute graceful stop", elapsed)
	}
	if res.State != schemas.StateInterrupted {
		t.Errorf("state %q, want interrupted", res.State)
	}
	if res.Totals.Requests == 0 || res.Totals.ErrorsByKind[schemas.ErrCanceled] != res.Totals.Requests {
		t.Errorf("want every hanging request counted as canceled, got %d requests, kinds %v", res.Totals.Requests, res.Totals.ErrorsByKind)
	}
	checkSums(t, res)
}

func TestUnreachableTargetIsCountedNotFatal(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/"
	srv.Close() // nothing listens there now
	res, err := Run(context.Background(), Config{
		Spec:         spec(url),
		Pattern:      pattern.Constant(2, 500*time.Millisecond),
		GracefulStop: time.Second,
		Quiet:        true,
		Stdout:       &bytes.Buffer{},
		Stderr:       &bytes.Buffer{},
		Signals:      make(chan os.Signal),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != schemas.StateCompleted {
		t.Errorf("state %q, want completed", res.State)
	}
	if res.Totals.Requests == 0 || res.Totals.Errors != res.Totals.Requests ||
		res.Totals.ErrorsByKind[schemas.ErrRefused] != res.Totals.Requests {
		t.Errorf("want every request an error of kind refused: %d requests, %d errors, %v",
			res.Totals.Requests, res.Totals.Errors, res.Totals.ErrorsByKind)
	}
}

// A result that cannot be written does not lose the run: the summary is
// printed and the error says what failed.
func TestSummaryPrintedWhenResultCannotBeWritten(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	out := filepath.Join(t.TempDir(), "gone", "result.json")
	var stdout, stderr bytes.Buffer
	res, err := Run(context.Background(), Config{
		Name:         "unwritable",
		Spec:         spec(srv.URL + "/"),
		Pattern:      pattern.Constant(1, 300*time.Millisecond),
		GracefulStop: time.Second,
		OutPath:      out,
		Stdout:       &stdout,
		Stderr:       &stderr,
		Signals:      make(chan os.Signal),
	})
	if err == nil || !strings.Contains(err.Error(), "write result "+out) {
		t.Fatalf("err %v, want the write error naming %s", err, out)
	}
	if res == nil {
		t.Fatal("no result returned with the write error")
	}
	checkCounted(t, res, srv, schemas.StateCompleted)
	if want := fmt.Sprintf("requests    %d ", res.Totals.Requests); !strings.Contains(stdout.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, stdout.String())
	}
}
