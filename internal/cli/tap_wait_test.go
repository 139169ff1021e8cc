package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A tap started before the run's bus waits for it, then prints the run from
// its first snapshot on, with RFC 3339 times beside the nanoseconds.
func TestTapCommandWaitsForTheBus(t *testing.T) {
	clearEnv(t)
	busAddr := freePort(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()

	stdout, stderr := newLineSignal(), newLineSignal()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tap := &app{stdout: stdout, stderr: stderr}
	tapCode := make(chan int, 1)
	go func() { tapCode <- tap.run(ctx, []string{"tap", "--nats", "nats://" + busAddr}) }()
	if l := nextLine(t, stderr); !strings.Contains(l, "waiting for the bus") {
		t.Fatalf("first line %q", l)
	}

	runCode := make(chan int, 1)
	go func() {
		runCode <- Run(context.Background(), []string{"run", "--url", srv.URL + "/", "--vus", "2", "--duration", "1500ms",
			"--listen", busAddr, "--quiet", "--graceful-stop", "1s"}, io.Discard, io.Discard)
	}()
	var firstSnapshot, stateWithTime bool
	deadline := time.After(30 * time.Second)
	for !firstSnapshot || !stateWithTime {
		var line string
		select {
		case line = <-stdout.lines:
		case <-deadline:
			t.Fatalf("first snapshot %v, a state with at_time %v", firstSnapshot, stateWithTime)
		}
		var m struct {
			Subject string         `json:"subject"`
			Data    map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		switch {
		case strings.HasSuffix(m.Subject, ".snapshot") && m.Data["seq"] == 1.0:
			firstSnapshot = true
		case strings.HasSuffix(m.Subject, ".state"):
			at, _ := m.Data["at_time"].(string)
			parsed, err := time.Parse(time.RFC3339Nano, at)
			// JSON numbers are float64 here: compare to the microsecond.
			if err != nil || parsed.Sub(time.Unix(0, int64(m.Data["at_ns"].(float64)))).Abs() > time.Microsecond {
				t.Errorf("state at_ns %v, at_time %q", m.Data["at_ns"], at)
			}
			if _, ok := m.Data["graceful_stop_time"]; ok {
				t.Errorf("a duration got a time: %v", m.Data)
			}
			stateWithTime = true
		}
	}
	if code := <-runCode; code != ExitOK {
		t.Errorf("run exit %d", code)
	}
	cancel()
	select {
	case c := <-tapCode:
		if c != ExitOK {
			t.Errorf("tap exit %d", c)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("tap did not stop")
	}
}

func TestWithTimesOnlyForPointsInTime(t *testing.T) {
	in := map[string]any{"at_ns": int64(1_764_700_000_123_456_789), "elapsed_ns": int64(2_000_000_000),
		"end_ns": uint64(1_764_700_001_000_000_000), "seq": int64(1_764_700_000_123_456_789)}
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(jsonable(in)); err != nil {
		t.Fatal(err)
	}
	want := `{"at_ns":1764700000123456789,"at_time":"2025-12-02T18:26:40.123456789Z","elapsed_ns":2000000000,` +
		`"end_ns":1764700001000000000,"end_time":"2025-12-02T18:26:41Z","seq":1764700000123456789}` + "\n"
	if b.String() != want {
		t.Errorf("got  %s want %s", b.String(), want)
	}
}
