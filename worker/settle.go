package worker

// settle gives a failed request the latency it had on the wire, so that
// latency covers every request that reached the target, not only those with
// a response: a timeout's is its elapsed time (at least the timeout), a
// reset's the time until the reset. A request that never reached the target
// (connection refused, name not resolved) has none and wrote nothing; one
// cut off by our own stop has none either, as its time measures the stop.
func (o *outcome) settle() {
	switch o.errKind {
	case kindRefused, kindDNS:
		o.bytesOut = 0
		o.latencyUs = -1
	case kindTimeout, kindReset, kindTLS, kindOther:
		if o.latencyUs < 0 && !o.start.IsZero() && !o.end.IsZero() {
			o.latencyUs = max(o.end.Sub(o.start).Microseconds(), 1)
		}
	}
}
