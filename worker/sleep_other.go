//go:build !linux

package worker

import "time"

// preciseSleeper is Linux's; elsewhere the dispatcher sleeps on Go timers.
type preciseSleeper struct{}

func newPreciseSleeper() *preciseSleeper { return nil }

func (*preciseSleeper) sleepUntil(time.Time, time.Duration) error { return nil }

func (*preciseSleeper) close() {}
