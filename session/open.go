package session

import (
	"fmt"
	"io"

	"github.com/loadforge/loadforge/schemas"
)

// printOpenModel adds an open-model run's figures under the latency line:
// that latency runs from each iteration's intended start, the service time
// from the actual send, and how late the generator handed arrivals over. A
// closed model's latency is its service time, so it prints nothing.
func printOpenModel(w io.Writer, r *schemas.Result) {
	t := r.Totals
	if t.ScheduleLagMs == nil {
		return
	}
	s := t.ServiceTimeMs
	fmt.Fprintf(w, "              (from each iteration's intended start; the service time below runs from the actual send)\n")
	fmt.Fprintf(w, "  service time min %s  mean %s  p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s\n",
		fmtMs(s.Min), fmtMs(s.Mean), fmtMs(s.P50), fmtMs(s.P90), fmtMs(s.P95), fmtMs(s.P99), fmtMs(s.P999), fmtMs(s.Max))
	lag := t.ScheduleLagMs
	fmt.Fprintf(w, "  schedule lag p50 %s  p99 %s  max %s (arrival handed to a VU − its intended time)\n",
		fmtMs(lag.P50), fmtMs(lag.P99), fmtMs(lag.Max))
}

// printTimings prints the timing breakdown, when there is one.
func printTimings(w io.Writer, t schemas.TimingsMs) {
	if t.Waiting == (schemas.LatencyMs{}) && t.NewConnections == 0 {
		return
	}
	pair := func(l schemas.LatencyMs) string { return fmt.Sprintf("p50 %s p99 %s", fmtMs(l.P50), fmtMs(l.P99)) }
	fmt.Fprintf(w, "  timings     waiting %s · receiving %s · connecting %s (%d new connections)",
		pair(t.Waiting), pair(t.Receiving), pair(t.Connecting), t.NewConnections)
	if t.TLSHandshaking != (schemas.LatencyMs{}) {
		fmt.Fprintf(w, " · tls %s", pair(t.TLSHandshaking))
	}
	fmt.Fprintln(w)
}
