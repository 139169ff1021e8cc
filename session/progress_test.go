package session

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// A console on a terminal (a descriptor that takes no ioctl stands in for
// one): a log line clears the progress line, and the line comes back below it.
func TestConsoleClearsTheProgressLineBeforeALogLine(t *testing.T) {
	var b bytes.Buffer
	c := &Console{w: &b, fd: 1 << 20}
	c.setStatus("progress 1")
	if _, err := c.Write([]byte("level=WARN msg=x\n")); err != nil {
		t.Fatal(err)
	}
	c.setStatus("progress 2")
	c.keepStatus()
	if _, err := c.Write([]byte("after\n")); err != nil {
		t.Fatal(err)
	}
	want := "\r\x1b[Kprogress 1" + "\r\x1b[Klevel=WARN msg=x\nprogress 1" + "\r\x1b[Kprogress 2" + "\n" + "after\n"
	if got := b.String(); got != want {
		t.Errorf("wrote %q\nwant  %q", got, want)
	}
}

// Off a terminal every progress line is a line of its own, without escapes.
func TestConsoleInAPipeKeepsEveryLine(t *testing.T) {
	var b bytes.Buffer
	c := NewConsole(&b)
	c.setStatus("one")
	c.Write([]byte("log\n"))
	c.setStatus("two")
	c.keepStatus()
	if got := b.String(); got != "one\nlog\ntwo\n" {
		t.Errorf("wrote %q", got)
	}
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, false)
	p.begin(time.Now(), 30*time.Second)
	p.snapshot(&schemas.Snapshot{Seq: 12, TS: 12, VUs: 20, Requests: 4211, Errors: 3, RPS: 4211, LatencyMs: schemas.LatencyMs{P95: 6.12}})
	want := "12s/30s [██████░░░░░░░░░░]  vus 20 │ per second: 4211 req/s, 3 err/s, p95 6.12ms │ total: 4211 req, 3 err (0.07%)\n"
	if got := b.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	// The empty last second after the end is not shown; it still counts.
	b.Reset()
	p.snapshot(&schemas.Snapshot{Seq: 31, TS: 31, Final: true})
	p.snapshot(&schemas.Snapshot{Seq: 13, TS: 13, VUs: 20, Requests: 1, RPS: 1})
	if got := b.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "13s/30s") || !strings.Contains(got, "total: 4212 req") {
		t.Errorf("got %q", got)
	}
}

func TestFmtClockAndBar(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0s", 59 * time.Second: "59s", 65 * time.Second: "1m05s", 2*time.Hour + 3*time.Minute: "2h03m00s"} {
		if got := fmtClock(d); got != want {
			t.Errorf("fmtClock(%s) = %s, want %s", d, got, want)
		}
	}
	if got := bar(1.7, 4); got != "[████]" {
		t.Errorf("bar past the end %s", got)
	}
	if got := bar(-1, 4); got != "[░░░░]" {
		t.Errorf("bar before the start %s", got)
	}
}
