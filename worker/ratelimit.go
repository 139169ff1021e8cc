package worker

import (
	"context"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// requestLimiter caps the requests per second of all the VUs of a worker with a
// token bucket. Its burst is a tenth of a second's worth of requests (at least
// one): small enough that the cap holds over any second, large enough that VUs
// released together are not serialised to the microsecond.
type requestLimiter struct {
	bucket *rate.Limiter
}

func newRequestLimiter(perSecond float64) *requestLimiter {
	return &requestLimiter{bucket: rate.NewLimiter(rate.Limit(perSecond), limiterBurst(perSecond))}
}

func limiterBurst(perSecond float64) int {
	return max(1, int(math.Ceil(perSecond/10)))
}

// wait blocks until a request may go, or returns ctx's error if ctx ends first.
func (l *requestLimiter) wait(ctx context.Context) error {
	return l.bucket.Wait(ctx)
}

// allowAt reports whether a request may go at now, taking its token if so.
func (l *requestLimiter) allowAt(now time.Time) bool {
	return l.bucket.AllowN(now, 1)
}
