package session

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// progress prints one live line per collector snapshot on the console:
// elapsed time (against the planned time, with a bar, when the load has an
// end), VUs, that second's figures and the run's totals so far.
type progress struct {
	mu      sync.Mutex
	c       *Console
	quiet   bool
	t0      time.Time
	planned time.Duration // 0: the load has no planned end
	total   uint64
	errors  uint64
	// checks counted so far (see checks.go)
	checksPasses, checksFails uint64

	verdicts map[string]bool // each threshold's live verdict, as last noted

	// External load: while noControl says so, the live line warns that no
	// control command has come on controlSubject.
	noControl      func() bool
	controlSubject string
}

func (p *progress) awaitControl(subject string, none func() bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.controlSubject, p.noControl = subject, none
}

// newProgress writes on w, which should be the Console the logs go to.
func newProgress(w io.Writer, quiet bool) *progress {
	c, ok := w.(*Console)
	if !ok {
		c = NewConsole(w)
	}
	return &progress{c: c, quiet: quiet}
}

// begin sets t0 and the load's planned duration (0: no end known).
func (p *progress) begin(t0 time.Time, planned time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.t0, p.planned = t0, planned
}

func (p *progress) snapshot(s *schemas.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total += s.Requests
	p.errors += s.Errors
	checks := p.checksLine(s)
	if p.quiet {
		return
	}
	// The last second, after the load has ended, often holds nothing: a row
	// of zeros would only replace the last real figures.
	idle := s.Requests == 0 && s.VUs == 0 && s.DroppedIterations == 0
	if idle && (s.Final || (p.planned > 0 && s.TS > p.planned.Seconds())) {
		return
	}
	line := p.line(s) + checks
	if p.noControl != nil && p.noControl() {
		line += "  WARNING no control command yet on " + p.controlSubject
	}
	p.c.setStatus(line)
}

// line is one progress line, e.g.
//
//	12s/30s [██████░░░░░░░░░░]  vus 20 │ per second: 4211 req/s, 0 err/s, p95 6.12ms │ total: 50532 req, 0 err (0.00%)
func (p *progress) line(s *schemas.Snapshot) string {
	var b strings.Builder
	elapsed := time.Duration(s.TS * float64(time.Second)).Round(time.Second)
	b.WriteString(fmtClock(elapsed))
	if p.planned > 0 {
		fmt.Fprintf(&b, "/%s %s", fmtClock(p.planned), bar(elapsed.Seconds()/p.planned.Seconds(), 16))
	}
	fmt.Fprintf(&b, "  vus %d │ per second: %.0f req/s, %d err/s, p95 %s", s.VUs, s.RPS, s.Errors, fmtMs(s.LatencyMs.P95))
	if s.DroppedIterations > 0 {
		fmt.Fprintf(&b, ", %d dropped", s.DroppedIterations)
	}
	fmt.Fprintf(&b, " │ total: %d req, %d err (%.2f%%)", p.total, p.errors, pct(p.errors, p.total))
	return b.String()
}

// fmtClock prints a whole number of seconds as 9s, 1m05s or 2h03m00s.
func fmtClock(d time.Duration) string {
	sec := int64(d.Round(time.Second) / time.Second)
	switch {
	case sec < 60:
		return fmt.Sprintf("%ds", sec)
	case sec < 3600:
		return fmt.Sprintf("%dm%02ds", sec/60, sec%60)
	default:
		return fmt.Sprintf("%dh%02dm%02ds", sec/3600, sec/60%60, sec%60)
	}
}

// bar draws frac (clamped to 0..1) as width cells.
func bar(frac float64, width int) string {
	n := int(frac*float64(width) + 0.5)
	n = max(0, min(width, n))
	return "[" + strings.Repeat("█", n) + strings.Repeat("░", width-n) + "]"
}

// note prints a message on a line of its own, above the progress line.
func (p *progress) note(msg string) {
	_, _ = p.c.Write([]byte(msg + "\n"))
}

func (p *progress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.c.keepStatus()
	p.quiet = true // late snapshots must not scribble over the summary
}
