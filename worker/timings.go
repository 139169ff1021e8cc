package worker

import (
	"context"
	"crypto/tls"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

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
			tr.mu.Unlock()
		},
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			now := time.Now()
			tr.mu.Lock()
			tr.wrote, tr.wroteOK = now, info.Err == nil
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
		t.connectingUs = spanUs(tr.connectStart, tr.connectDone)
		t.tlsUs = spanUs(tr.tlsStart, tr.tlsDone)
	}
	t.waitingUs = spanUs(tr.wrote, tr.firstByte)
	t.receivingUs = spanUs(tr.firstByte, end)
	return t
}

// spanUs is to − from in µs, at least 1; 0 when either is unknown or they are out of order.
func spanUs(from, to time.Time) int64 {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return 0
	}
	return max(to.Sub(from).Microseconds(), 1)
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

// newBreakdownHist is an empty timing-breakdown histogram: latency's range
// at schemas.BreakdownSigFigs digits (20 KB instead of 140 KB).
func newBreakdownHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(latency.LowestUs, latency.HighestUs, schemas.BreakdownSigFigs)
}

// extraStats holds what one shard recorded for one endpoint beside its
// latency: the open model's service time and the timing breakdown. Each
// histogram is made on its first sample, so a closed-model run holds no
// service-time histograms and a run on kept-alive connections few connect ones.
type extraStats struct {
	service    *hdrhistogram.Histogram // 3 digits, like latency
	connecting *hdrhistogram.Histogram // the rest: breakdown precision
	tls        *hdrhistogram.Histogram
	waiting    *hdrhistogram.Histogram
	receiving  *hdrhistogram.Histogram
}

// recordExtra adds a completed request's service time and breakdown. The
// shard's lock is held.
func (e *endpointStats) recordExtra(o outcome) {
	if o.serviceUs == 0 && o.timing == (timing{}) {
		return
	}
	if e.extra == nil {
		e.extra = &extraStats{}
	}
	x := e.extra
	if o.serviceUs > 0 {
		if x.service == nil {
			x.service = latency.New()
		}
		latency.Record(x.service, o.serviceUs)
	}
	recordBreakdown(&x.connecting, o.timing.connectingUs)
	recordBreakdown(&x.tls, o.timing.tlsUs)
	recordBreakdown(&x.waiting, o.timing.waitingUs)
	recordBreakdown(&x.receiving, o.timing.receivingUs)
}

func recordBreakdown(h **hdrhistogram.Histogram, us int64) {
	if us <= 0 {
		return
	}
	if *h == nil {
		*h = newBreakdownHist()
	}
	latency.Record(*h, us)
}

// extraAggregator is the aggregator's part for extraStats. Under a shard's
// lock it only swaps the filled stats for empty ones; the merge runs after,
// and the emptied stats go back to the shards: no allocation in the steady state.
type extraAggregator struct {
	taken  []*extraStats // filled, taken for the endpoint being collected
	spares []*extraStats // emptied, ready to hand back to a shard
	merged extraStats
}

// take swaps e's filled stats for a spare one. The shard's lock is held.
func (a *extraAggregator) take(e *endpointStats) {
	if e.extra == nil {
		return
	}
	a.taken = append(a.taken, e.extra)
	e.extra = nil
	if n := len(a.spares); n > 0 {
		e.extra = a.spares[n-1]
		a.spares = a.spares[:n-1]
	}
}

// fill merges what take collected for one endpoint into m and empties it.
func (a *extraAggregator) fill(m *schemas.EndpointMetrics) {
	if len(a.taken) == 0 {
		return
	}
	for _, x := range a.taken {
		mergeInto(&a.merged.service, x.service, latency.New)
		mergeInto(&a.merged.connecting, x.connecting, newBreakdownHist)
		mergeInto(&a.merged.tls, x.tls, newBreakdownHist)
		mergeInto(&a.merged.waiting, x.waiting, newBreakdownHist)
		mergeInto(&a.merged.receiving, x.receiving, newBreakdownHist)
		a.spares = append(a.spares, x)
	}
	clear(a.taken)
	a.taken = a.taken[:0]
	m.ServiceTimeUs = takeSparse(a.merged.service)
	m.ConnectingUs = takeSparse(a.merged.connecting)
	m.TLSHandshakingUs = takeSparse(a.merged.tls)
	m.WaitingUs = takeSparse(a.merged.waiting)
	m.ReceivingUs = takeSparse(a.merged.receiving)
}

// mergeInto adds src (then emptied) to *dst, making *dst when needed.
func mergeInto(dst **hdrhistogram.Histogram, src *hdrhistogram.Histogram, mk func() *hdrhistogram.Histogram) {
	if src == nil || src.TotalCount() == 0 {
		return
	}
	if *dst == nil {
		*dst = mk()
	}
	(*dst).Merge(src)
	src.Reset()
}

// takeSparse is h's sparse form (nil when h is nil or empty), leaving h empty.
func takeSparse(h *hdrhistogram.Histogram) [][2]int64 {
	if h == nil {
		return nil
	}
	out := latency.Sparse(h)
	h.Reset()
	return out
}
