package worker

import (
	"context"
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadforge/loadforge/internal/http1"
	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// timing is one request's breakdown in microseconds (at least 1 when
// measured); a zero field was not measured. Connecting and TLS are measured
// only on a request that opened its connection.
type timing struct {
	connectingUs int64 // TCP connect
	tlsUs        int64 // TLS handshake
	waitingUs    int64 // request written → first response byte
	receivingUs  int64 // first response byte → body read
}

// requestTrace records the instants net/http/httptrace reports for one
// request. Hooks can run on the transport's dialing goroutine, even after the
// request is over (a dial it started may serve another request), so every
// field is behind the lock.
type requestTrace struct {
	mu                        sync.Mutex
	connectStart, connectDone time.Time
	tlsStart, tlsDone         time.Time
	gotConn, reused           bool
	wrote, firstByte          time.Time
	wroteOK                   bool // the whole request was flushed to the connection
	// attempts are the connections the transport took for the request, one
	// per attempt (more than one when it resent it).
	attempts []attempt
}

// attempt is one try of a request on one connection.
type attempt struct {
	conn    *wireConn      // nil when the connection does not count its bytes
	written uint64         // conn's bytes written when the attempt took it
	read    *atomic.Uint64 // the bytes conn read while the attempt held it
	wrote   bool           // WroteRequest reported no error (the fallback without conn)
}

// wireBytesIn is what the latest attempt read from its connection: the
// response as it came on the wire (1xx responses, status line, headers, body
// with its chunk framing; over TLS the records' contents), as the fast client
// counts it. False without a counting connection.
func (tr *requestTrace) wireBytesIn() (uint64, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.attempts) == 0 {
		return 0, false
	}
	a := tr.attempts[len(tr.attempts)-1]
	if a.conn == nil {
		return 0, false
	}
	return a.read.Load(), true
}

// earlierAttempts is how many attempts before the latest reached the wire:
// bytes of theirs were written on their connection. (The transport resends
// an attempt that wrote nothing too, which the target never saw.)
func (tr *requestTrace) earlierAttempts() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, a := range tr.attempts[:max(len(tr.attempts)-1, 0)] {
		if a.conn != nil && a.conn.written.Load() > a.written || a.conn == nil && a.wrote {
			n++
		}
	}
	return n
}

// attach returns ctx carrying the hooks that fill tr.
func (tr *requestTrace) attach(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		ConnectStart: func(string, string) {
			tr.mu.Lock()
			if tr.connectStart.IsZero() { // racing dials (IPv4 and IPv6): the first began it
				tr.connectStart = time.Now()
			}
			tr.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				tr.mark(&tr.connectDone)
			}
		},
		TLSHandshakeStart: func() { tr.mark(&tr.tlsStart) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				tr.mark(&tr.tlsDone)
			}
		},
		GotConn: func(info httptrace.GotConnInfo) {
			tr.mu.Lock()
			tr.gotConn, tr.reused = true, info.Reused
			var a attempt
			a.conn = wireConnOf(info.Conn)
			if a.conn != nil {
				a.written, a.read = a.conn.written.Load(), new(atomic.Uint64)
				a.conn.owner.Store(a.read)
			}
			tr.attempts = append(tr.attempts, a)
			tr.mu.Unlock()
		},
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			now := time.Now()
			tr.mu.Lock()
			tr.wrote, tr.wroteOK = now, info.Err == nil
			if n := len(tr.attempts); n > 0 && info.Err == nil {
				tr.attempts[n-1].wrote = true
			}
			tr.mu.Unlock()
		},
		GotFirstResponseByte: func() { tr.mark(&tr.firstByte) },
	})
}

func (tr *requestTrace) mark(at *time.Time) {
	now := time.Now()
	tr.mu.Lock()
	*at = now
	tr.mu.Unlock()
}

// sent reports whether the request reached the connection in full.
func (tr *requestTrace) sent() bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.wroteOK
}

// timing is the breakdown of a request whose body was read in full at end.
func (tr *requestTrace) timing(end time.Time) timing {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var t timing
	if tr.gotConn && !tr.reused {
		t.connectingUs = http1.SpanUs(tr.connectStart, tr.connectDone)
		t.tlsUs = http1.SpanUs(tr.tlsStart, tr.tlsDone)
	}
	t.waitingUs = http1.SpanUs(tr.wrote, tr.firstByte)
	t.receivingUs = http1.SpanUs(tr.firstByte, end)
	return t
}

// fromIntended makes o's latency run from intended, the intended start of
// its iteration (open model), and keeps the latency from the actual send as
// the service time. A zero intended (setup, teardown) means "when it was
// sent". It returns the next request's intended start: the instant this one
// ended, as an iteration's requests follow each other by design.
func (o *outcome) fromIntended(intended time.Time) time.Time {
	if o.latencyUs >= 0 {
		o.serviceUs = max(o.latencyUs, 1)
		if !intended.IsZero() && intended.Before(o.start) {
			o.latencyUs = o.end.Sub(intended).Microseconds()
		}
	}
	if o.end.IsZero() {
		return time.Now()
	}
	return o.end
}

// extraStats holds what one shard recorded for one endpoint beside its
// latency: the open model's service time and the timing breakdown. Like the
// latency, they are page-allocated recorders: a page is taken on a bucket's
// first sample, so a closed-model run holds no service-time pages and a run
// on kept-alive connections few connect ones.
type extraStats struct {
	service    latency.Recorder  // 3 digits, like latency
	connecting *latency.Recorder // the rest: breakdown precision
	tls        *latency.Recorder
	waiting    *latency.Recorder
	receiving  *latency.Recorder
}

func newExtraStats() *extraStats {
	return &extraStats{
		connecting: latency.NewRecorderSigFigs(schemas.BreakdownSigFigs),
		tls:        latency.NewRecorderSigFigs(schemas.BreakdownSigFigs),
		waiting:    latency.NewRecorderSigFigs(schemas.BreakdownSigFigs),
		receiving:  latency.NewRecorderSigFigs(schemas.BreakdownSigFigs),
	}
}

// recordExtra adds a completed request's service time and breakdown. The
// shard's lock is held.
func (e *endpointStats) recordExtra(o outcome) {
	if o.serviceUs == 0 && o.timing == (timing{}) {
		return
	}
	if e.extra == nil {
		e.extra = newExtraStats()
	}
	x := e.extra
	if o.serviceUs > 0 {
		x.service.Record(o.serviceUs)
	}
	recordBreakdown(x.connecting, o.timing.connectingUs)
	recordBreakdown(x.tls, o.timing.tlsUs)
	recordBreakdown(x.waiting, o.timing.waitingUs)
	recordBreakdown(x.receiving, o.timing.receivingUs)
}

func recordBreakdown(r *latency.Recorder, us int64) {
	if us > 0 {
		r.Record(us)
	}
}

// moveFrom adds everything in src to x and empties src.
func (x *extraStats) moveFrom(src *extraStats) {
	for _, p := range [...][2]*latency.Recorder{
		{&x.service, &src.service}, {x.connecting, src.connecting}, {x.tls, src.tls},
		{x.waiting, src.waiting}, {x.receiving, src.receiving},
	} {
		p[0].Merge(p[1])
		p[1].Reset()
	}
}

// extraAggregator is the aggregator's part for extraStats: like the latency,
// a shard's figures are added to its own under the shard's lock, touching
// only the pages in use.
type extraAggregator struct {
	merged *extraStats // nil until a shard has had any
}

// take adds e's extra figures to the merged ones and empties them. The
// shard's lock is held.
func (a *extraAggregator) take(e *endpointStats) {
	if e.extra == nil {
		return
	}
	if a.merged == nil {
		a.merged = newExtraStats()
	}
	a.merged.moveFrom(e.extra)
}

// fill puts what take collected for one endpoint into m, and empties it.
func (a *extraAggregator) fill(m *schemas.EndpointMetrics) {
	x := a.merged
	if x == nil {
		return
	}
	m.ServiceTimeUs = takeSparse(&x.service)
	m.ConnectingUs = takeSparse(x.connecting)
	m.TLSHandshakingUs = takeSparse(x.tls)
	m.WaitingUs = takeSparse(x.waiting)
	m.ReceivingUs = takeSparse(x.receiving)
}

// takeSparse is r's sparse form (nil when empty), leaving r empty.
func takeSparse(r *latency.Recorder) [][2]int64 {
	out := r.Sparse()
	r.Reset()
	return out
}
