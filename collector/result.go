package collector

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// The end of the run: when to finalise, and the result built from the totals.

// done reports whether it is time to finalise: stopping was seen and every
// worker's events are in, or the wait for them is over.
func (a *aggregator) done(now time.Time) bool {
	if !a.stopping {
		return false
	}
	if !now.Before(a.finalizeBy) {
		return true
	}
	for _, w := range a.workers {
		if !w.complete() && !w.lost {
			return false
		}
	}
	return true
}

// finalize publishes every remaining second, the last one final, and returns
// the result. state overrides the outcome announced by the session when set.
//
// The run ends at the latest EndNs of any event, or at now if none came.
// If the run's time zero never came, it is taken from the earliest event
// start, or now.
func (a *aggregator) finalize(now time.Time, state string) *schemas.Result {
	a.releaseHeld(now)
	if a.t0 == 0 {
		t0 := now.UnixNano()
		for _, ev := range a.buffered {
			if ev.StartNs < ev.EndNs && plausibleT0(ev.StartNs, now) {
				t0 = min(t0, ev.StartNs)
			}
		}
		a.cfg.log.Info("the run's time zero never came; inferring it", "t0_ns", t0)
		a.setT0(t0, now)
	}
	end := a.maxEnd
	if end == 0 {
		end = max(now.UnixNano(), a.t0)
	}
	lastSecond := a.secondOf(end) // 0 when end == t0
	top := max(lastSecond, a.nextSeq-1)
	for k := range a.buckets {
		top = max(top, k) // a late event can sit past the last second
	}
	if top < a.nextSeq {
		// Every second is out already; consumers still get a final snapshot.
		a.publishSecond(time.Second, true, false)
	}
	for a.nextSeq <= top {
		length := time.Second
		if a.nextSeq == lastSecond {
			length = time.Duration(end - a.t0 - int64(lastSecond-1)*second)
		}
		a.publishSecond(length, a.nextSeq == top, true)
	}

	if state == "" {
		state = a.outcome
	}
	// The run lasted until the stop, or until the last in-flight request it
	// let finish, not to the end of the last 250 ms interval.
	runEnd := end
	if a.stoppedAt > a.t0 {
		runEnd = min(end, max(a.stoppedAt, a.lastDone))
	}
	duration := float64(runEnd-a.t0) / float64(second)
	rate := func(n uint64) float64 {
		if duration <= 0 {
			return 0
		}
		return float64(n) / duration
	}
	res := &schemas.Result{
		SchemaVersion: schemas.ResultVersion,
		RunID:         a.cfg.runID,
		State:         state,
		StartedAt:     formatTime(a.t0),
		EndedAt:       formatTime(runEnd),
		DurationS:     duration,
		Totals: schemas.Totals{
			Requests:          a.totals.requests,
			Errors:            a.totals.errors,
			RPS:               rate(a.totals.requests),
			BytesIn:           a.totals.bytesIn,
			BytesOut:          a.totals.bytesOut,
			Iterations:        a.iters,
			DroppedIterations: a.totals.dropped,
			Retries:           a.totals.retries,
			LatencyMs:         latency.Summary(a.totalHist),
			StatusCodes:       maps.Clone(a.codes),
			ErrorsByKind:      maps.Clone(a.kinds),
		},
		Endpoints: make([]schemas.EndpointResult, 0, len(a.endpoints)),
		Timeline:  append(make([]schemas.TimelineRow, 0, len(a.timeline)), a.timeline...),
		Workers:   make([]schemas.WorkerResult, 0, len(a.workers)),
	}
	var all extras
	var allErr *hdrhistogram.Histogram
	for _, e := range a.endpoints {
		var sum schemas.LatencyMs
		if e.hist != nil {
			sum = latency.Summary(e.hist)
		}
		res.Endpoints = append(res.Endpoints, schemas.EndpointResult{
			Name: e.key.name, Method: e.key.method, URL: e.key.url,
			Requests: e.c.requests, Errors: e.c.errors, RPS: rate(e.c.requests), Retries: e.c.retries,
			BytesIn: e.c.bytesIn, BytesOut: e.c.bytesOut, LatencyMs: sum,
			StatusCodes: maps.Clone(e.codes), ErrorsByKind: maps.Clone(e.kinds),
			ServiceTimeMs: e.extra.serviceMs(), TimingsMs: e.extra.timingsMs(),
			HTTPClient: e.client, LatencyOkMs: okLatency(e.hist, e.errHist), Checks: e.checks.result(),
			LatencyMoreMs: latency.More(e.hist), Spectrum: spectrum(e.hist, e.extra.service),
			Protocol: e.proto.String(), TLSError: e.proto.tlsError,
		})
		all.merge(&e.extra)
		mergeHist(&allErr, e.errHist, latency.New)
	}
	res.Totals.LatencyOkMs = okLatency(a.totalHist, allErr)
	res.Totals.ServiceTimeMs, res.Totals.TimingsMs = all.serviceMs(), all.timingsMs()
	res.Totals.LatencyMoreMs, res.Totals.Spectrum = latency.More(a.totalHist), spectrum(a.totalHist, all.service)
	if a.checkTotals != nil {
		c := *a.checkTotals
		res.Checks = &c
	}
	a.finishThresholds(res, runEnd, duration)
	a.schedule.finish(res)
	res.Warnings = append(res.Warnings, a.trustWarnings()...)
	if wn := a.notSentWarning(); wn != "" {
		res.Warnings = append(res.Warnings, wn)
		res.Totals.NotSent = maps.Clone(a.notSent)
	}
	for _, w := range res.Warnings {
		a.cfg.log.Warn(w)
	}
	slices.SortFunc(res.Endpoints, func(x, y schemas.EndpointResult) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Method, y.Method), cmp.Compare(x.URL, y.URL))
	})
	res.HTTPClient = httpClients(res.Endpoints)
	res.Protocol = resultProtocols(res.Endpoints)
	for _, w := range a.workers {
		lost := w.lost || !w.complete()
		if lost {
			a.cfg.log.Warn("worker did not finish; its missing events are not counted",
				"worker_id", w.id, "bye", w.bye, "last_seq", w.lastSeq, "received_through", w.contiguous,
				"last_heartbeat", w.heartbeat)
		}
		res.Workers = append(res.Workers, schemas.WorkerResult{
			ID: w.id, Name: w.name, Requests: w.requests, Errors: w.errors, Lost: lost,
		})
	}
	slices.SortFunc(res.Workers, func(x, y schemas.WorkerResult) int { return cmp.Compare(x.ID, y.ID) })
	return res
}

// httpClients names the clients the endpoints were sent with, sorted and
// joined by "+"; empty when no worker said.
func httpClients(eps []schemas.EndpointResult) string {
	var names []string
	for _, e := range eps {
		if e.HTTPClient != "" && !slices.Contains(names, e.HTTPClient) {
			names = append(names, e.HTTPClient)
		}
	}
	slices.Sort(names)
	return strings.Join(names, "+")
}

func formatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
