package worker

import (
	"runtime/metrics"
	"time"
)

// saturation tells from the runtime's scheduling latencies whether the
// process is short of CPU: whether the goroutines made runnable lately (a VU
// whose response came, the dispatcher at its time) waited long for a
// thread. A busy process is not short of CPU; one whose runnable goroutines
// queue is, whatever the cause (its own work, or a machine whose other
// processes take the cores).
type saturation struct {
	sample []metrics.Sample
	last   []uint64 // the bucket counts at the last look
	at     time.Time
	short  bool
}

const (
	schedLatencies = "/sched/latencies:seconds"
	// saturationWindow is how often the latencies are read (a read copies
	// the histogram, a few µs): long enough for a few hundred of them (the
	// runtime times one goroutine switch in eight).
	saturationWindow = 20 * time.Millisecond
	// longWait is a scheduling latency that means a queue of runnable
	// goroutines: a VU's turn comes well after its response.
	longWait = 250 * time.Microsecond
	// shortShare: the process is short of CPU when a quarter of the
	// goroutines made runnable waited longWait or more, and stays so until
	// under enoughShare did: a share that hovers near one bound does not
	// flip the answer at every look.
	shortShare, enoughShare = 0.25, 0.1
)

func newSaturation() *saturation {
	return &saturation{sample: []metrics.Sample{{Name: schedLatencies}}}
}

// shortOfCPU reports whether, over the last window, a share of shortShare or
// more of the scheduling latencies were longWait or longer (enoughShare once
// short); it reads them again once saturationWindow has passed since the
// last read.
func (s *saturation) shortOfCPU(now time.Time) bool {
	if now.Sub(s.at) < saturationWindow {
		return s.short
	}
	s.at = now
	metrics.Read(s.sample)
	if s.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return false // a runtime without the metric
	}
	h := s.sample[0].Value.Float64Histogram()
	if len(s.last) != len(h.Counts) {
		s.last = make([]uint64, len(h.Counts))
		copy(s.last, h.Counts)
		return s.short
	}
	for i, c := range h.Counts {
		s.last[i], h.Counts[i] = c, c-s.last[i]
	}
	s.short = stillShort(s.short, h.Buckets, h.Counts)
	return s.short
}

// stillShort is whether the process is short of CPU after a window whose
// scheduling latencies fell count[i] in the bucket from bounds[i] to
// bounds[i+1] seconds, given whether it was before.
func stillShort(was bool, bounds []float64, count []uint64) bool {
	var all, long uint64
	for i, n := range count {
		all += n
		if bounds[i] >= longWait.Seconds() {
			long += n
		}
	}
	if all == 0 {
		return was
	}
	share := float64(long) / float64(all)
	return share >= shortShare || (was && share >= enoughShare)
}
