package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

func clearExporterEnv(t *testing.T) {
	t.Helper()
	clearEnv(t)
	for _, s := range exporterSettings {
		t.Setenv(s.env(), "")
	}
}

func TestExporterBadInputExitsTwo(t *testing.T) {
	clearExporterEnv(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"exporter", "--listen", "9464"}, `--listen "9464": want HOST:PORT`},
		{[]string{"exporter", "--buckets", "1,0.5"}, `--buckets: want positive seconds in ascending order`},
		{[]string{"exporter", "--retain", "0s"}, `--retain: want a positive duration`},
		{[]string{"exporter", "--run", "a.b"}, `--run "a.b": a run id is one token`},
		{[]string{"exporter", "--user", "u"}, "--user and --password go together"},
		{[]string{"run", "--url", "http://127.0.0.1:1/", "--duration", "1s", "--prometheus", "9464"}, `--prometheus "9464": want HOST:PORT`},
	}
	for _, tc := range cases {
		inv := invoke(t, nil, tc.args...)
		if inv.code != ExitUsage || strings.Count(inv.stderr, "\n") != 1 || !strings.Contains(inv.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, inv.code, inv.stderr, tc.want)
		}
	}
	inv := invoke(t, nil, "run", "--url", "http://127.0.0.1:1/", "--duration", "1s", "--prometheus", "127.0.0.1:0")
	if inv.code != ExitOK || inv.cfg == nil || inv.cfg.Prometheus != "127.0.0.1:0" {
		t.Errorf("--prometheus does not reach the session: exit %d, %q", inv.code, inv.stderr)
	}
}

// freePort returns a loopback address nothing listens on (yet).
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// The exporter command may start before its bus: it waits, then serves what
// comes once the bus is up.
func TestExporterCommandWaitsForTheBus(t *testing.T) {
	clearExporterEnv(t)
	busAddr := freePort(t)
	stderr := newLineSignal()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := &app{stdout: &bytes.Buffer{}, stderr: stderr}
	code := make(chan int, 1)
	go func() {
		code <- a.run(ctx, []string{"exporter", "--nats", "nats://" + busAddr, "--listen", "127.0.0.1:0"})
	}()
	if l := nextLine(t, stderr); !strings.Contains(l, "waiting for the bus") {
		t.Fatalf("first line %q", l)
	}
	b, err := bus.Open(bus.Config{Listen: busAddr})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	var metricsURL string
	for metricsURL == "" {
		if m := regexp.MustCompile(`url=(http://\S+/metrics)`).FindStringSubmatch(nextLine(t, stderr)); m != nil {
			metricsURL = m[1]
		}
	}
	pub, err := b.Connect("publisher")
	if err != nil {
		t.Fatal(err)
	}
	ev := &schemas.MetricEvent{SchemaVersion: schemas.Version, RunID: "r9", WorkerID: "w", Seq: 1, VUs: 4,
		Endpoints: []schemas.EndpointMetrics{{Name: "home", Method: "GET", Requests: 3, StatusCodes: map[string]uint64{"200": 3}}}}
	if err := pub.Publish(schemas.MetricsSubject("r9", "w"), ev); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	want := `loadforge_requests_total{endpoint="home",method="GET",run="r9",status="200"} 3`
	var body string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !strings.Contains(body, want); time.Sleep(20 * time.Millisecond) {
		resp, err := client.Get(metricsURL)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(data)
	}
	if !strings.Contains(body, want) || !strings.Contains(body, `loadforge_vus{run="r9"} 4`) {
		t.Errorf("/metrics lacks the run's series:\n%s", body)
	}
	client.CloseIdleConnections()
	cancel()
	select {
	case c := <-code:
		if c != ExitOK {
			t.Errorf("exit %d", c)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("exporter did not stop")
	}
}
