// Package clock reads the time for the request path at half time.Now's cost.
package clock

import "time"

// epoch is the reading every Now counts from.
var epoch = time.Now()

// Now is the current time read from the monotonic clock alone: epoch plus
// the monotonic time since. time.Now reads the wall clock and the monotonic
// clock, two vDSO calls (BenchmarkTimeNow: about 105 ns on this project's
// 2-vCPU test machine, BenchmarkNow 70 ns), and a request's path reads the
// time half a dozen times. Durations between Now,
// and between Now and time.Now, are the monotonic clock's, as between two
// time.Now readings. The wall time of Now is the process start's plus the
// monotonic time elapsed: the two clocks run at the same, NTP-disciplined
// rate, so it matches time.Now's unless the system clock is stepped during
// the run, which it then does not follow (raw records' start_ns and the
// last completion's time are such wall times).
func Now() time.Time { return epoch.Add(time.Since(epoch)) }
