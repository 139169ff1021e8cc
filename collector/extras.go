package collector

import (
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// LagWarning is the schedule lag (p99 over the run so far) past which the
// generator counts as fallen behind its schedule: the latencies it reports
// then hold that much of its own lateness. The live warning waits for
// lagWarningSamples arrivals, so that one hiccup at the start is not a trend.
const (
	LagWarning        = 10 * time.Millisecond
	lagWarningSamples = 100
)

// extras are an endpoint's figures beyond its latency: the service time and
// the timing breakdown, each made on its first sample.
type extras struct {
	service    *hdrhistogram.Histogram
	connecting *hdrhistogram.Histogram
	tls        *hdrhistogram.Histogram
	waiting    *hdrhistogram.Histogram
	receiving  *hdrhistogram.Histogram
}

func newBreakdownHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(latency.LowestUs, latency.HighestUs, schemas.BreakdownSigFigs)
}

// add folds one event's endpoint entry. An entry without service_time_us
// comes from a closed model, where the service time is the latency.
func (x *extras) add(ep *schemas.EndpointMetrics) {
	service := ep.ServiceTimeUs
	if len(service) == 0 {
		service = ep.LatencyUs
	}
	addPairs(&x.service, service, latency.New)
	addPairs(&x.connecting, ep.ConnectingUs, newBreakdownHist)
	addPairs(&x.tls, ep.TLSHandshakingUs, newBreakdownHist)
	addPairs(&x.waiting, ep.WaitingUs, newBreakdownHist)
	addPairs(&x.receiving, ep.ReceivingUs, newBreakdownHist)
}

// merge adds every histogram of o.
func (x *extras) merge(o *extras) {
	mergeHist(&x.service, o.service, latency.New)
	mergeHist(&x.connecting, o.connecting, newBreakdownHist)
	mergeHist(&x.tls, o.tls, newBreakdownHist)
	mergeHist(&x.waiting, o.waiting, newBreakdownHist)
	mergeHist(&x.receiving, o.receiving, newBreakdownHist)
}

// serviceMs summarises the service time.
func (x *extras) serviceMs() schemas.LatencyMs { return summary(x.service) }

// timingsMs summarises the breakdown.
func (x *extras) timingsMs() schemas.TimingsMs {
	t := schemas.TimingsMs{
		Connecting:     summary(x.connecting),
		TLSHandshaking: summary(x.tls),
		Waiting:        summary(x.waiting),
		Receiving:      summary(x.receiving),
	}
	if x.connecting != nil {
		t.NewConnections = uint64(x.connecting.TotalCount())
	}
	return t
}

func addPairs(h **hdrhistogram.Histogram, pairs [][2]int64, mk func() *hdrhistogram.Histogram) {
	if len(pairs) == 0 {
		return
	}
	if *h == nil {
		*h = mk()
	}
	latency.AddSparse(*h, pairs)
}

func mergeHist(dst **hdrhistogram.Histogram, src *hdrhistogram.Histogram, mk func() *hdrhistogram.Histogram) {
	if src == nil {
		return
	}
	if *dst == nil {
		*dst = mk()
	}
	(*dst).Merge(src)
}

func summary(h *hdrhistogram.Histogram) schemas.LatencyMs {
	if h == nil {
		return schemas.LatencyMs{}
	}
	return latency.Summary(h)
}

// plausibleExtras reports whether an endpoint entry's extra histograms can be real.
func plausibleExtras(ep *schemas.EndpointMetrics) bool {
	for _, pairs := range [][][2]int64{ep.ServiceTimeUs, ep.ConnectingUs, ep.TLSHandshakingUs, ep.WaitingUs, ep.ReceivingUs, ep.ErrorLatencyUs} {
		if !plausiblePairs(pairs) {
			return false
		}
	}
	return true
}

func plausiblePairs(pairs [][2]int64) bool {
	for _, p := range pairs {
		if p[1] > maxCount {
			return false
		}
	}
	return true
}

// schedule follows the open model's figures over the run: the schedule lag
// and whether the generator has been seen falling behind.
type schedule struct {
	lag        *hdrhistogram.Histogram // nil: no open model seen
	warnedDrop bool
	warnedLag  bool
}

// add takes one event's schedule lag and dropped iterations, and warns the
// first time the generator falls behind, as it happens.
func (s *schedule) add(ev *schemas.MetricEvent, t0 int64, log func(msg string, args ...any)) {
	if len(ev.ScheduleLagUs) > 0 {
		addPairs(&s.lag, ev.ScheduleLagUs, latency.New)
		if !s.warnedLag && s.lag.TotalCount() >= lagWarningSamples {
			if p99 := s.lag.ValueAtQuantile(99); p99 > LagWarning.Microseconds() {
				s.warnedLag = true
				log("the generator is falling behind its schedule", "worker_id", ev.WorkerID,
					"at_s", secondsSince(t0, ev.EndNs), "schedule_lag_p99_ms", float64(p99)/1000)
			}
		}
	}
	if ev.DroppedIterations > 0 && !s.warnedDrop {
		s.warnedDrop = true
		log("the generator cannot keep the rate: no VU free, iterations dropped", "worker_id", ev.WorkerID,
			"at_s", secondsSince(t0, ev.EndNs), "dropped", ev.DroppedIterations)
	}
}

func secondsSince(t0, ns int64) float64 {
	if t0 == 0 {
		return 0
	}
	return float64(ns-t0) / float64(second)
}

// finish fills the result's open-model figures and its warnings.
func (s *schedule) finish(res *schemas.Result) {
	if s.lag == nil {
		return
	}
	lag := latency.Summary(s.lag)
	res.Totals.ScheduleLagMs = &lag
	t := res.Totals
	if t.DroppedIterations > 0 {
		scheduled := t.Iterations + t.DroppedIterations
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"the generator could not keep the rate: %d of %d iterations dropped (%.1f%%) for want of a free VU; raise --max-vus or lower the rate",
			t.DroppedIterations, scheduled, 100*float64(t.DroppedIterations)/float64(max(scheduled, 1))))
	}
	if lag.P99 > float64(LagWarning.Microseconds())/1000 {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"the generator fell behind its schedule: arrivals went %.1f ms late at p99 (max %.1f ms); latencies include that",
			lag.P99, lag.Max))
	}
}
