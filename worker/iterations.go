package worker

import "time"

// iterationDone counts one iteration that ran to its end and records its
// duration, from its start to its last response, which ended at end
// (think time excluded).
func (s *shard) iterationDone(start, end time.Time) {
	if start.IsZero() || end.Before(start) {
		// No request of the iteration was recorded with its times.
		end = time.Now()
		start = end
	}
	us := end.Sub(start).Microseconds()
	s.mu.Lock()
	s.iterHist.Record(us)
	s.mu.Unlock()
	s.iterations.Add(1)
}

// iterationDurations returns the iteration durations recorded since the last
// call, as a sparse histogram, leaving the shards' empty.
func (a *aggregator) iterationDurations(shards []*shard) [][2]int64 {
	a.iters.Reset()
	for _, s := range shards {
		s.mu.Lock()
		a.iters.Merge(&s.iterHist)
		s.iterHist.Reset()
		s.mu.Unlock()
	}
	if a.iters.Count() == 0 {
		return nil
	}
	return a.iters.Sparse()
}
