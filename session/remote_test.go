package session

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
	"github.com/loadforge/loadforge/worker"
)

var quiet = slog.New(slog.DiscardHandler)

// sharedBus is a NATS server the session reaches as a remote one (--nats),
// and on which the test runs its workers in-process.
func sharedBus(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.Open(bus.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

// runOutcome is what Serve reported for one run.
type runOutcome struct {
	run string
	err error
}

// serveWorker runs worker.Serve on b until the test ends.
func serveWorker(t *testing.T, b *bus.Bus, id string) <-chan runOutcome {
	t.Helper()
	conn, err := b.Connect("worker-" + id)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := make(chan runOutcome, 8)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := worker.NewServer(worker.ServeConfig{WorkerID: id, Name: "n-" + id, Logger: quiet,
		OnRun: func(run string, err error) { outcomes <- runOutcome{run, err} }}, conn)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = srv.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return outcomes
}

func remoteConfig(b *bus.Bus, url string, workers int, p pattern.Pattern) Config {
	return Config{
		Spec: spec(url), Pattern: p, GracefulStop: 5 * time.Second,
		Bus: bus.Config{URL: b.ClientURL()}, Workers: workers, WorkersTimeout: 30 * time.Second,
		Quiet: true, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Signals: make(chan os.Signal), Logger: quiet,
	}
}

func TestRemoteWorkersShareTheRun(t *testing.T) {
	srv := slowServer(t)
	b := sharedBus(t)
	serveWorker(t, b, "one")
	serveWorker(t, b, "two")
	res, err := Run(context.Background(), remoteConfig(b, srv.URL+"/", 2, pattern.Constant(4, 2*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	checkCounted(t, res, srv, schemas.StateCompleted)
	checkSums(t, res)
	if len(res.Workers) != 2 {
		t.Fatalf("workers %+v, want both", res.Workers)
	}
	for _, w := range res.Workers {
		// Two VUs each against the same server: about half each.
		if share := float64(w.Requests) / float64(res.Totals.Requests); w.Lost || share < 0.3 || share > 0.7 {
			t.Errorf("worker %+v carried %.0f%% of the requests", w, 100*share)
		}
	}
	if vus := res.Timeline[0].VUs; vus != 4 {
		t.Errorf("first second: %d VUs over both workers, want 4", vus)
	}
}

func TestTooFewWorkersTimesOutNamingHowManyCame(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {})
	b := sharedBus(t)
	outcomes := serveWorker(t, b, "only")
	cfg := remoteConfig(b, srv.URL+"/", 2, pattern.Constant(1, time.Second))
	cfg.WorkersTimeout = 2 * time.Second
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 came") || !strings.Contains(err.Error(), "only") {
		t.Fatalf("err %v, want it to say that 1 of 2 came, naming it", err)
	}
	// The worker that came hears that the run is off and is free again.
	select {
	case o := <-outcomes:
		if o.err != nil {
			t.Errorf("the worker's run ended with %v", o.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the worker did not leave the aborted run")
	}
	if n := srv.hits.Load(); n != 0 {
		t.Errorf("%d requests in a run that never started", n)
	}
}

// silentWorker joins the run and says hello, then never makes a sound: it
// plays a worker killed at the start.
func silentWorker(t *testing.T, b *bus.Bus, id string) {
	t.Helper()
	conn, err := b.Connect("silent")
	if err != nil {
		t.Fatal(err)
	}
	specs := make(chan string, 16)
	admitted := make(chan string, 16)
	if _, err := bus.Subscribe(conn, schemas.AllSpecs(), func(_ string, m *schemas.RunSpec) {
		select {
		case specs <- m.RunID:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := conn.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		wg.Wait()
	})
	go func() {
		defer wg.Done()
		var run string
		select {
		case run = <-specs:
		case <-done:
			return
		}
		sub, err := bus.Subscribe(conn, schemas.Subject(run, schemas.KindAssign), func(_ string, a *schemas.WorkerAssignment) {
			for _, w := range a.Workers {
				if w == id {
					select {
					case admitted <- run:
					default:
					}
				}
			}
		})
		if err != nil {
			return
		}
		defer sub.Unsubscribe()
		hello := &schemas.WorkerHello{SchemaVersion: schemas.Version, RunID: run, WorkerID: id, Name: "silent"}
		_ = conn.Publish(schemas.Subject(run, schemas.KindJoin), hello)
		select {
		case <-admitted:
		case <-done:
			return
		}
		_ = conn.Publish(schemas.Subject(run, schemas.KindHello), hello)
		<-done
	}()
}

func TestLostWorkersShareMovesToTheSurvivor(t *testing.T) {
	srv := slowServer(t)
	b := sharedBus(t)
	silentWorker(t, b, "ghost")
	serveWorker(t, b, "survivor")
	res, err := Run(context.Background(), remoteConfig(b, srv.URL+"/", 2, pattern.Constant(4, 6*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	checkCounted(t, res, srv, schemas.StateCompleted)
	byID := map[string]schemas.WorkerResult{}
	for _, w := range res.Workers {
		byID[w.ID] = w
	}
	if g, ok := byID["ghost"]; !ok || !g.Lost {
		t.Errorf("workers %+v: want ghost listed as lost", res.Workers)
	}
	if s := byID["survivor"]; s.Lost || s.Requests != res.Totals.Requests {
		t.Errorf("survivor %+v, want all %d requests", s, res.Totals.Requests)
	}
	// The survivor carries 2 of 4 VUs until the ghost is found lost (three
	// missed heartbeats), then all 4.
	// After the end the VUs fall to 0 (how many rows that takes depends on
	// how busy the machine is), so look at the rows up to the first 4.
	tl := vusOf(res.Timeline)
	first4 := slices.Index(tl, 4)
	if len(tl) < 6 || tl[0] != 2 || first4 < 0 || slices.ContainsFunc(tl[:first4], func(v int) bool { return v != 2 }) {
		t.Errorf("timeline VUs %v: want 2 at first and 4 once the ghost is lost", tl)
	}
}

func vusOf(rows []schemas.TimelineRow) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = r.VUs
	}
	return out
}

func TestEveryWorkerLostAbortsTheRun(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {})
	b := sharedBus(t)
	silentWorker(t, b, "ghost")
	cfg := remoteConfig(b, srv.URL+"/", 1, pattern.Constant(1, time.Minute))
	began := time.Now()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != schemas.StateAborted {
		t.Errorf("state %q, want aborted", res.State)
	}
	if d := time.Since(began); d > 30*time.Second {
		t.Errorf("took %s to give up on a run without workers", d)
	}
	if len(res.Workers) != 1 || !res.Workers[0].Lost {
		t.Errorf("workers %+v", res.Workers)
	}
}

func TestExternalLoadFollowsControlCommands(t *testing.T) {
	srv := slowServer(t)
	b := sharedBus(t)
	ctl, err := b.Connect("controller")
	if err != nil {
		t.Fatal(err)
	}
	// The controller learns the run from its snapshots and steers it: 3 VUs
	// once the first second is out, then done after the third.
	snaps := make(chan *schemas.Snapshot, 64)
	if _, err := bus.Subscribe(ctl, "loadforge.*.snapshot", func(_ string, s *schemas.Snapshot) { snaps <- s }); err != nil {
		t.Fatal(err)
	}
	if err := ctl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for s := range snaps {
			var cmd *schemas.ControlCommand
			switch s.Seq {
			case 1:
				cmd = &schemas.ControlCommand{SchemaVersion: 1, TargetVUs: 3}
			case 3:
				cmd = &schemas.ControlCommand{SchemaVersion: 1, Done: true}
			}
			if cmd != nil {
				_ = ctl.Publish(schemas.Subject(s.RunID, schemas.KindControl), cmd)
			}
			if s.Final {
				return
			}
		}
	}()
	cfg := remoteConfig(b, srv.URL+"/", 0, pattern.Pattern{})
	cfg.External = &pattern.ExternalLoad{InitialVUs: 1, MaxVUs: 10}
	var stderr bytes.Buffer
	cfg.Quiet, cfg.Stderr = false, &stderr
	res, err := Run(context.Background(), cfg)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	// At start it says where commands go and who may send them; the live
	// line warns until the first command came, and not after.
	out := stderr.String()
	if !strings.Contains(out, "control commands on loadforge."+res.RunID+".control (may publish: the users of "+b.ClientURL()) {
		t.Errorf("no note of the control subject and its publishers:\n%s", out)
	}
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "vus ") && strings.Contains(l, "req/s") {
			lines = append(lines, l)
		}
	}
	if len(lines) < 3 || strings.Contains(lines[len(lines)-1], "WARNING") {
		t.Errorf("live lines %q: want the last, after the command, not to warn", lines)
	}
	if res.State != schemas.StateCompleted {
		t.Errorf("state %q", res.State)
	}
	tl := res.Timeline
	if len(tl) < 3 || tl[0].VUs != 1 || tl[2].VUs != 3 {
		t.Errorf("timeline VUs %v: want 1, then 3 after the command", vusOf(tl))
	}
	if got, want := res.Totals.Requests, srv.hits.Load(); got != want || got == 0 {
		t.Errorf("result counts %d requests, the server saw %d", got, want)
	}
}

func TestWorkersSettingIsChecked(t *testing.T) {
	_, err := Run(context.Background(), Config{Spec: spec("http://127.0.0.1:1/"), Pattern: pattern.Constant(1, time.Second),
		Workers: -1, Signals: make(chan os.Signal), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	if err == nil {
		t.Error("negative workers accepted")
	}
	_, err = Run(context.Background(), Config{Spec: spec("http://127.0.0.1:1/"),
		External: &pattern.ExternalLoad{MaxVUs: 0}, Signals: make(chan os.Signal), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}})
	if err == nil {
		t.Error("an external load without max VUs accepted")
	}
}

func TestSignalWhileWaitingForWorkers(t *testing.T) {
	b := sharedBus(t)
	cfg := remoteConfig(b, "http://127.0.0.1:1/", 1, pattern.Constant(1, time.Second))
	signals := make(chan os.Signal, 1)
	signals <- os.Interrupt
	cfg.Signals = signals
	if _, err := Run(context.Background(), cfg); !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "0 of 1 came") {
		t.Errorf("err %v, want ErrInterrupted saying 0 of 1 came", err)
	}
}

// A run with external load that no command reaches warns on every live line.
func TestExternalLoadWithoutCommandsWarns(t *testing.T) {
	srv := slowServer(t)
	b := sharedBus(t)
	cfg := remoteConfig(b, srv.URL+"/", 0, pattern.Pattern{})
	cfg.External = &pattern.ExternalLoad{InitialVUs: 1, MaxVUs: 2, Duration: 2 * time.Second}
	var stderr bytes.Buffer
	cfg.Quiet, cfg.Stderr = false, &stderr
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "vus ") && strings.Contains(l, "req/s") {
			lines = append(lines, l)
		}
	}
	want := "WARNING no control command yet on loadforge." + res.RunID + ".control"
	if len(lines) == 0 {
		t.Fatalf("no live lines:\n%s", stderr.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, want) {
			t.Errorf("live line %q lacks %q", l, want)
		}
	}
}
