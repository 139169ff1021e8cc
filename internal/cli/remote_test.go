package cli

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
	"github.com/loadforge/loadforge/session"
)

func TestRemoteSettingsReachTheSession(t *testing.T) {
	clearEnv(t)
	t.Setenv("LOADFORGE_CONTROL_TOKEN", "ctl")
	inv := invoke(t, nil, "run", "--url", "http://127.0.0.1:1/", "--duration", "1s",
		"--listen", "0.0.0.0:0", "--token", "wrk", "--tap-token", "tap", "--workers", "3", "--workers-timeout", "90s",
		"--tls-cert", "c.pem", "--tls-key", "k.pem")
	if inv.code != ExitOK || inv.cfg == nil {
		t.Fatalf("exit %d: %s", inv.code, inv.stderr)
	}
	want := bus.Config{Listen: "0.0.0.0:0", Token: "wrk", TapToken: "tap", ControlToken: "ctl",
		TLS: bus.TLSFiles{Cert: "c.pem", Key: "k.pem"}}
	if inv.cfg.Bus != want {
		t.Errorf("bus %+v, want %+v", inv.cfg.Bus, want)
	}
	if inv.cfg.Workers != 3 || inv.cfg.WorkersTimeout != 90*time.Second {
		t.Errorf("workers %d, timeout %s", inv.cfg.Workers, inv.cfg.WorkersTimeout)
	}

	t.Setenv("LOADFORGE_CONTROL_TOKEN", "") // role tokens are for the embedded bus, not --nats
	dir := t.TempDir()
	ext := writeFile(t, dir, "ext.yaml", strings.Replace(goodPlan, "  vus: 1\n  duration: 10s\n", "  external: {vus: 2, max_vus: 5}\n", 1))
	inv = invoke(t, nil, "run", ext, "--nats", "nats://127.0.0.1:4222", "--user", "u", "--password", "p")
	if inv.code != ExitOK || inv.cfg == nil {
		t.Fatalf("exit %d: %s", inv.code, inv.stderr)
	}
	if e := inv.cfg.External; e == nil || e.InitialVUs != 2 || e.MaxVUs != 5 {
		t.Errorf("external %+v", e)
	}
	if inv.cfg.Bus.User != "u" || inv.cfg.Bus.Password != "p" || inv.cfg.Workers != 0 {
		t.Errorf("bus %+v, workers %d", inv.cfg.Bus, inv.cfg.Workers)
	}
	inv = invoke(t, nil, "validate", ext)
	if inv.code != ExitOK || !strings.Contains(inv.stdout, "external: 2 VUs at first, at most 5") || !strings.Contains(inv.stdout, ".control") {
		t.Errorf("validate an external plan: exit %d\n%s%s", inv.code, inv.stdout, inv.stderr)
	}
}

func TestInterruptedWhileWaitingExits130(t *testing.T) {
	clearEnv(t)
	inv := invoke(t, func() (*schemas.Result, error) {
		return nil, fmt.Errorf("%w by interrupt while waiting for remote workers; 0 of 2 came", session.ErrInterrupted)
	}, "run", "--url", "http://127.0.0.1:1/", "--duration", "1s", "--listen", "127.0.0.1:0", "--workers", "2")
	if inv.code != ExitInterrupted || !strings.Contains(inv.stderr, "0 of 2 came") {
		t.Errorf("exit %d, stderr %q", inv.code, inv.stderr)
	}
}

// The worker command connects with its credential, waits for runs, and ends
// with exit 0 when stopped; a wrong credential ends it at once with exit 1.
func TestWorkerCommand(t *testing.T) {
	clearEnv(t)
	b, err := bus.Open(bus.Config{Listen: "127.0.0.1:0", Token: "right"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	url := b.ClientURL()

	inv := invoke(t, nil, "worker", "--nats", url, "--token", "wrong")
	if inv.code != ExitFailure || !strings.Contains(strings.ToLower(inv.stderr), "authorization") {
		t.Errorf("wrong token: exit %d, stderr %q", inv.code, inv.stderr)
	}

	// A run's spec reaches it: it asks to join.
	watcher, err := b.Connect("watcher")
	if err != nil {
		t.Fatal(err)
	}
	joins := make(chan string, 4)
	if _, err := bus.Subscribe(watcher, schemas.Subject("r1", schemas.KindJoin), func(_ string, m *schemas.WorkerHello) { joins <- m.Name }); err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	stderr := newLineSignal()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := &app{stdout: &bytes.Buffer{}, stderr: stderr}
	code := make(chan int, 1)
	go func() { code <- a.run(ctx, []string{"worker", "--nats", url, "--token", "right", "--name", "box-7"}) }()
	for !regexp.MustCompile(`waiting for a run`).MatchString(nextLine(t, stderr)) {
	}
	spec := &schemas.RunSpec{SchemaVersion: 1, RunID: "r1", Scenario: schemas.Scenario{Tasks: []schemas.Task{{Name: "t", Weight: 1,
		Requests: []schemas.Request{{Name: "a", Method: "GET", URL: "http://127.0.0.1:1/"}}}}}}
	if err := watcher.Publish(schemas.Subject("r1", schemas.KindSpec), spec); err != nil {
		t.Fatal(err)
	}
	select {
	case name := <-joins:
		if name != "box-7" {
			t.Errorf("joined as %q", name)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the worker did not ask to join")
	}
	cancel()
	select {
	case c := <-code:
		if c != ExitOK {
			t.Errorf("exit %d after a signal", c)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the worker did not stop")
	}
}
