package worker

import (
	"errors"
	"sync/atomic"
	"syscall"
	"time"
)

// Causes of a request the generator could not even attempt for lack of its
// own resources. Such a request never reached the wire: it is not a request
// of the run, but is counted apart (not_sent) so that the figures show the
// generator was short, not the target.
const (
	causeNone = iota
	causeFDs
	causePorts
	causeMemory
	numCauses
)

// causeNames name the causes as they appear in not_sent.
var causeNames = [numCauses]string{causeFDs: "fds", causePorts: "ports", causeMemory: "memory"}

// notSentPause is how long a VU that could not get a connection waits before
// its next iteration: a tight loop of failing dials would only burn the CPU
// the other VUs need.
const notSentPause = 10 * time.Millisecond

// exhausted names the cause of a connect error that is the generator's own
// shortage (causeNone for any other error).
func exhausted(err error) int {
	switch {
	case err == nil:
		return causeNone
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return causeFDs
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return causePorts
	case errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM):
		return causeMemory
	}
	return causeNone
}

// notSentCounts are a worker's not-sent requests by cause since the last event.
type notSentCounts struct {
	n      [numCauses]atomic.Uint64
	warned [numCauses]atomic.Bool
}

// add counts one and reports whether it is the first of its cause this run.
func (c *notSentCounts) add(cause int) (first bool) {
	c.n[cause].Add(1)
	return c.warned[cause].CompareAndSwap(false, true)
}

// take returns the counts since the last call by cause name (nil if none).
func (c *notSentCounts) take() map[string]uint64 {
	var m map[string]uint64
	for cause := causeNone + 1; cause < numCauses; cause++ {
		if n := c.n[cause].Swap(0); n > 0 {
			if m == nil {
				m = make(map[string]uint64)
			}
			m[causeNames[cause]] += n
		}
	}
	return m
}

// noteNotSent counts a request the generator could not attempt, and says so
// in the log at once the first time of each cause.
func (w *Worker) noteNotSent(cause int) {
	if w.notSent.add(cause) {
		w.log.Warn("the generator ran out of its own resources: requests are not being sent (counted apart as not_sent)",
			"cause", causeNames[cause], "hint", causeHints[cause])
	}
}

// causeHints say what to raise for each cause.
var causeHints = [numCauses]string{
	causeFDs:    "raise the open-file limit (ulimit -n) or run fewer VUs per process",
	causePorts:  "keep connections alive, widen net.ipv4.ip_local_port_range, or spread over more source addresses",
	causeMemory: "give the generator more memory or run fewer VUs per process",
}
