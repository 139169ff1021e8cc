package collector

import (
	"time"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// Seconds of the run: events land in the bucket of the second they ended in,
// and each second, once ready, is published as a snapshot and a timeline row.

const second = int64(time.Second)

type bucket struct {
	counters
	// vus holds, per worker, the VUs of its latest event ending in this second.
	vus map[string]vuMark
	// shares breaks the second down by endpoint (timeline.go).
	shares map[*endpointAgg]*share
	// checksPasses and checksFails count the second's check results.
	checksPasses, checksFails uint64
}

type vuMark struct {
	endNs int64
	vus   int
}

// secondOf is the second k of the run with end in (t0+(k-1)s, t0+k s]; end > t0.
func (a *aggregator) secondOf(end int64) uint64 {
	return uint64((end - a.t0 + second - 1) / second)
}

// secondReady reports whether second k may be published before the run ends.
func (a *aggregator) secondReady(k uint64, now time.Time) bool {
	// Once stopping, the latest second with data waits for the end: it may be
	// the run's last, partial second, and the last snapshot must be final.
	if a.stopping && a.maxK <= k {
		return false
	}
	end := a.t0 + int64(k)*second
	if now.UnixNano() >= end+int64(a.cfg.snapshotGrace) {
		return true
	}
	live := 0
	for _, w := range a.workers {
		if !w.live() {
			continue
		}
		if w.maxEnd < end {
			return false
		}
		live++
	}
	return live > 0
}

// publishReady publishes, in order, every second that is ready.
func (a *aggregator) publishReady(now time.Time) {
	if a.t0 == 0 {
		return
	}
	for a.secondReady(a.nextSeq, now) {
		a.publishSecond(time.Second, false, true)
	}
}

// nextWake is when the oldest open second's grace runs out, or the finalise
// deadline, whichever is sooner; false if neither is pending.
func (a *aggregator) nextWake() (time.Time, bool) {
	var wake time.Time
	if a.t0 != 0 && !(a.stopping && a.maxK <= a.nextSeq) {
		wake = time.Unix(0, a.t0+int64(a.nextSeq)*second).Add(a.cfg.snapshotGrace)
	}
	if a.stopping && (wake.IsZero() || a.finalizeBy.Before(wake)) {
		wake = a.finalizeBy
	}
	return wake, !wake.IsZero()
}

// publishSecond publishes second nextSeq, of the given length, and moves on.
// Without row it is left out of the timeline (a final marker past the run's end).
func (a *aggregator) publishSecond(length time.Duration, final, row bool) {
	k := a.nextSeq
	b := a.buckets[k]
	delete(a.buckets, k)
	a.nextSeq++
	if b == nil {
		b = &bucket{}
	}
	eps, all := a.publishShares(b)
	sum, more := latency.SummaryOfCompact(all)
	latency.AddSparse(a.totalHist, all)
	vus := 0
	for _, m := range b.vus {
		vus += m.vus
	}
	rps := float64(b.requests) / length.Seconds()
	s := &schemas.Snapshot{
		SchemaVersion:     schemas.Version,
		RunID:             a.cfg.runID,
		Seq:               k,
		TS:                float64(k),
		VUs:               vus,
		Requests:          b.requests,
		Errors:            b.errors,
		BytesIn:           b.bytesIn,
		BytesOut:          b.bytesOut,
		DroppedIterations: b.dropped,
		RPS:               rps,
		LatencyMs:         sum,
		ChecksPasses:      b.checksPasses,
		ChecksFails:       b.checksFails,
		Final:             final,
	}
	if row {
		a.timeline = append(a.timeline, schemas.TimelineRow{
			TS: s.TS, VUs: vus, Requests: b.requests, Errors: b.errors,
			DroppedIterations: b.dropped, RPS: rps, LatencyMs: sum,
			Endpoints: eps, BytesIn: b.bytesIn, BytesOut: b.bytesOut,
			LatencyMoreMs: more, CumP50Ms: latency.Median(a.totalHist),
		})
	}
	a.cfg.emit(s)
	if row {
		a.evaluate(k, length)
	}
}
