package session

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/loadforge/loadforge/internal/output"
	"github.com/loadforge/loadforge/schemas"
)

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
		where := e.Method + " " + e.URL
		if e.Name != where {
			where = e.Name + ": " + where // several endpoints may share a URL
		}
		fmt.Fprintf(w, "  %s: status %s; errors %s\n", where, fmtCounts(e.StatusCodes), fmtCounts(e.ErrorsByKind))
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
