package collector

import (
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// Limits and plausibility checks: what the collector refuses to believe.

// Limits that tell garbage from data. They are far beyond anything a real
// worker sends, and keep a hostile or broken publisher from exhausting memory.
const (
	// maxSeqAhead: an event this far past a worker's last gap-free seq is not believed.
	maxSeqAhead = 1 << 20
	// maxFutureSkew: an event may end at most this far past the collector's clock.
	// It bounds how many seconds can be open at once.
	maxFutureSkew = time.Minute
	// maxCount bounds every count of one event (requests, bytes, histogram counts).
	maxCount = 1 << 40
	// maxVUs bounds an event's VU count.
	maxVUs = 1 << 30
	// maxEndpoints bounds the distinct endpoints kept apart; more are merged
	// into one named otherEndpoint, so totals still add up.
	maxEndpoints  = 1000
	otherEndpoint = "(other endpoints)"
	// maxBuffered bounds the events held while the run's time zero is unknown.
	maxBuffered = 1 << 16
	// maxGracefulStop bounds the graceful stop a state message may ask for.
	maxGracefulStop = 24 * time.Hour
	// maxT0Age: the run's time zero comes from the session as the run starts;
	// one far older would make the collector publish ages of empty seconds.
	maxT0Age = time.Hour
)

// plausibleT0 reports whether t0 can be the time zero of a run starting about now.
func plausibleT0(t0 int64, now time.Time) bool {
	return t0 > 0 && t0 >= now.Add(-maxT0Age).UnixNano() && t0 <= now.Add(maxFutureSkew).UnixNano()
}

// plausible reports whether the figures of ev can be real.
func plausible(ev *schemas.MetricEvent) bool {
	if ev.VUs < 0 || ev.VUs > maxVUs || ev.Iterations > maxCount || ev.DroppedIterations > maxCount ||
		!plausiblePairs(ev.ScheduleLagUs) {
		return false
	}
	for i := range ev.Endpoints {
		ep := &ev.Endpoints[i]
		if ep.Requests > maxCount || ep.Errors > maxCount || ep.BytesIn > maxCount || ep.BytesOut > maxCount || ep.Retries > ep.Requests {
			return false
		}
		if !plausiblePairs(ep.LatencyUs) || !plausibleExtras(ep) || !plausibleChecks(ep) {
			return false
		}
		for _, n := range ep.StatusCodes {
			if n > maxCount {
				return false
			}
		}
		for _, n := range ep.ErrorsByKind {
			if n > maxCount {
				return false
			}
		}
	}
	return true
}
