package session

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/loadforge/loadforge/internal/output"
	"github.com/loadforge/loadforge/schemas"
)

// progress prints one live line per collector snapshot on stderr: overwritten
// in place on a terminal, one line each otherwise (CI logs).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	quiet    bool
	terminal bool
	t0       time.Time
	total    uint64
	dirty    bool // a line is on screen without its newline
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

func newProgress(w io.Writer, quiet bool) *progress {
	p := &progress{w: w, quiet: quiet}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) begin(t0 time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.t0 = t0
}

func (p *progress) snapshot(s *schemas.Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total += s.Requests
	checks := p.checksLine(s)
	if p.quiet {
		return
	}
	errPct := 0.0
	if s.Requests > 0 {
		errPct = 100 * float64(s.Errors) / float64(s.Requests)
	}
	line := fmt.Sprintf("%5.0fs  vus %-6d req/s %-9.1f p95 %-9s errors %d (%.2f%%)  total %d",
		s.TS, s.VUs, s.RPS, fmtMs(s.LatencyMs.P95), s.Errors, errPct, p.total)
	if s.DroppedIterations > 0 {
		line += fmt.Sprintf("  dropped %d", s.DroppedIterations)
	}
	line += checks
	if p.noControl != nil && p.noControl() {
		line += "  WARNING no control command yet on " + p.controlSubject
	}
	if p.terminal {
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
		p.dirty = true
		return
	}
	fmt.Fprintln(p.w, line)
}

// note prints a message on a line of its own.
func (p *progress) note(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.newline()
	fmt.Fprintln(p.w, msg)
}

func (p *progress) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.newline()
	p.quiet = true // late snapshots must not scribble over the summary
}

func (p *progress) newline() {
	if p.dirty {
		fmt.Fprintln(p.w)
		p.dirty = false
	}
}

func fmtMs(ms float64) string {
	switch {
	case ms >= 1000:
		return fmt.Sprintf("%.2fs", ms/1000)
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fms", ms)
	}
}

func fmtBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func fmtCounts(m map[string]uint64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func pct(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// printSummary writes the end-of-run summary: totals, then one row per endpoint.
func printSummary(w io.Writer, r *schemas.Result) {
	t := r.Totals
	fmt.Fprintf(w, "\n%s: %s in %.1fs (run %s)\n\n", r.Name, r.State, r.DurationS, r.RunID)
	fmt.Fprintf(w, "  requests    %d (%.1f/s)   errors %d (%.2f%%)   iterations %d\n",
		t.Requests, t.RPS, t.Errors, pct(t.Errors, t.Requests), t.Iterations)
	if t.DroppedIterations > 0 {
		fmt.Fprintf(w, "  dropped     %d iterations\n", t.DroppedIterations)
	}
	if t.Retries > 0 {
		fmt.Fprintf(w, "  retries     %d (resent after the connection died under an earlier attempt; every attempt counts as a request)\n", t.Retries)
	}
	fmt.Fprintf(w, "  data        in %s, out %s\n", fmtBytes(t.BytesIn), fmtBytes(t.BytesOut))
	l := t.LatencyMs
	fmt.Fprintf(w, "  latency     min %s  mean %s  p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s\n",
		fmtMs(l.Min), fmtMs(l.Mean), fmtMs(l.P50), fmtMs(l.P90), fmtMs(l.P95), fmtMs(l.P99), fmtMs(l.P999), fmtMs(l.Max))
	printLatencyOk(w, t)
	printOpenModel(w, r)
	printTimings(w, t.TimingsMs)
	fmt.Fprintf(w, "  status      %s\n", fmtCounts(t.StatusCodes))
	fmt.Fprintf(w, "  error kinds %s%s\n", fmtCounts(t.ErrorsByKind), errorsWhy(r))
	if p := protocolLine(r); p != "" {
		fmt.Fprintf(w, "  protocol    %s\n", p)
	}
	fmt.Fprintln(w)
	printChecks(w, r)
	printThresholds(w, r)

	// Numbers align right; names are padded to one width so that they read left-aligned.
	width := len("endpoint")
	for _, e := range r.Endpoints {
		width = max(width, len(e.Name))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  %-*s\t requests\t errors\t req/s\t min\t mean\t p50\t p90\t p95\t p99\t p99.9\t max\t\n", width, "endpoint")
	for _, e := range r.Endpoints {
		l := e.LatencyMs
		fmt.Fprintf(tw, "  %-*s\t %d\t %d\t %.1f\t %s\t %s\t %s\t %s\t %s\t %s\t %s\t %s\t\n", width, e.Name, e.Requests, e.Errors, e.RPS,
			fmtMs(l.Min), fmtMs(l.Mean), fmtMs(l.P50), fmtMs(l.P90), fmtMs(l.P95), fmtMs(l.P99), fmtMs(l.P999), fmtMs(l.Max))
	}
	tw.Flush()
	for _, e := range r.Endpoints {
		fmt.Fprintf(w, "  %s %s: status %s; errors %s\n", e.Method, e.URL, fmtCounts(e.StatusCodes), fmtCounts(e.ErrorsByKind))
	}
	for _, wk := range r.Workers {
		if wk.Lost {
			fmt.Fprintf(w, "  worker %s (%s) was lost after %d requests\n", wk.ID, wk.Name, wk.Requests)
		}
	}
	for _, warning := range r.Warnings {
		fmt.Fprintf(w, "  WARNING: %s\n", warning)
	}
	printAllFailed(w, r)
}

// writeResult writes the result document atomically: a reader never sees half a file.
func writeResult(path string, r *schemas.Result) error {
	// Not HTML-escaped: threshold expressions keep their < and > readable.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if err := output.WriteFile(path, buf.Bytes()); err != nil { // Encode ended it with a newline
		return fmt.Errorf("write result %s: %w", path, err)
	}
	return nil
}
