package collector

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// What the collector checks before it believes a worker (see the package doc):
//   - Admission: with a fixed set of workers (the local worker of a run
//     without remote workers) only those count; with a roster, a worker counts
//     once an assignment of the session names it (only the session may publish
//     assignments). Messages of a worker not admitted yet are held, and
//     counted in when an assignment admits it; whatever is still held at the
//     end is reported and not counted. A collector given neither (tools
//     replaying a bus) believes every well-formed worker id.
//   - Conflicts: a worker sends each seq once, in order, on one connection,
//     and the bus keeps that order. An event ahead of a gap in the seqs is
//     held until the gap fills; if the event that fills it differs from the
//     one held, the held one was not the worker's: a conflict, reported and
//     not counted. A second, different event under a seq already counted is a
//     conflict too (reported, not counted); an identical copy is a duplicate,
//     dropped. The difference with the worker's bye shows what got past.
//   - Reconciliation: a worker's bye carries its own request and error counts;
//     a difference with what was received is reported.

// admission is whom the collector believes.
type admission struct {
	open     bool            // no admission given: every valid worker id counts
	roster   bool            // workers are admitted by the session's assignments
	admitted map[string]bool // worker id → admitted
	held     []heldMsg       // messages of workers not admitted (yet)
}

type heldMsg struct {
	workerID string
	subject  string
	body     any
}

func newAdmission(workers []string, roster bool) admission {
	ad := admission{open: len(workers) == 0 && !roster, roster: roster, admitted: make(map[string]bool)}
	for _, id := range workers {
		ad.admitted[id] = true
	}
	return ad
}

func (a *aggregator) admits(id string) bool {
	return a.adm.open || a.adm.admitted[id]
}

// hold keeps a message of a worker that is not admitted, for later (bounded).
func (a *aggregator) hold(id, subject string, body any) {
	if len(a.adm.held) >= maxBuffered {
		a.drop("message of a worker not admitted, buffer full", id)
		return
	}
	a.adm.held = append(a.adm.held, heldMsg{id, subject, body})
}

// admit takes in the workers an assignment names, and what they already sent.
func (a *aggregator) admit(ids []string, now time.Time) {
	if !a.adm.roster {
		return
	}
	var newly []string
	for _, id := range ids {
		if schemas.ValidToken(id) && !a.adm.admitted[id] {
			a.adm.admitted[id] = true
			a.worker(id)
			newly = append(newly, id)
		}
	}
	if len(newly) == 0 || len(a.adm.held) == 0 {
		return
	}
	held := a.adm.held
	a.adm.held = nil
	for _, m := range held {
		if slices.Contains(newly, m.workerID) {
			a.handle(m.subject, m.body, now)
		} else {
			a.adm.held = append(a.adm.held, m)
		}
	}
}

// fingerprint identifies an event's content: every figure it carries, map
// entries in sorted order, so that equal events give equal prints.
func (a *aggregator) fingerprint(ev *schemas.MetricEvent) uint64 {
	// The bytes hashed: numbers as 8 little-endian bytes, a string as its
	// length and its bytes.
	b := a.printBuf[:0]
	num := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	str := func(s string) {
		num(uint64(len(s)))
		b = append(b, s...)
	}
	pairs := func(ps [][2]int64) {
		num(uint64(len(ps)))
		for _, p := range ps {
			num(uint64(p[0]))
			num(uint64(p[1]))
		}
	}
	counts := func(m map[string]uint64) {
		keys := slices.Sorted(maps.Keys(m))
		num(uint64(len(keys)))
		for _, k := range keys {
			str(k)
			num(m[k])
		}
	}
	str(ev.RunID)
	str(ev.WorkerID)
	for _, v := range []uint64{ev.Seq, uint64(ev.StartNs), uint64(ev.EndNs), uint64(ev.VUs), ev.Iterations, ev.DroppedIterations} {
		num(v)
	}
	if ev.Final {
		num(1)
	}
	pairs(ev.ScheduleLagUs)
	pairs(ev.IterationDurationUs)
	num(uint64(len(ev.Endpoints)))
	for i := range ev.Endpoints {
		ep := &ev.Endpoints[i]
		str(ep.Name)
		str(ep.Method)
		str(ep.URL)
		str(ep.HTTPClient)
		for _, v := range []uint64{ep.Requests, ep.Errors, ep.BytesIn, ep.BytesOut, uint64(ep.LastDoneNs)} {
			num(v)
		}
		counts(ep.StatusCodes)
		counts(ep.ErrorsByKind)
		for _, ps := range [][][2]int64{ep.LatencyUs, ep.ServiceTimeUs, ep.ConnectingUs, ep.TLSHandshakingUs, ep.WaitingUs, ep.ReceivingUs} {
			pairs(ps)
		}
		num(uint64(len(ep.Checks)))
		for _, c := range ep.Checks {
			str(c.Name)
			num(c.Passes)
			num(c.Fails)
		}
	}
	// Hashed at once, seeded per run: FNV-1a, a multiplication per byte,
	// was a quarter of the collector's work per event (BenchmarkFold).
	a.printBuf = b
	return maphash.Bytes(a.printSeed, b)
}

// maxHeldAhead bounds the events held per worker behind a gap in its seqs;
// past it the oldest is counted without waiting for the gap to fill.
const maxHeldAhead = 256

// sequence orders a worker's events by seq. One worker publishes its events
// in order on one connection, and the bus keeps that order, so an event in
// order is the worker's; one ahead of a gap is held until its own seq comes in
// order (or the run ends). When it comes and differs from the one held, the
// held one was not the worker's: a conflict, reported and not counted. A
// second, different event under a seq already counted is a conflict too; an
// identical one a duplicate.
func (a *aggregator) sequence(w *workerState, ev *schemas.MetricEvent, now time.Time) {
	switch {
	case w.has(ev.Seq):
		if w.prints[ev.Seq] == a.fingerprint(ev) {
			a.duplicates++
			a.cfg.log.Debug("dropped duplicate metric event", "worker_id", w.id, "seq", ev.Seq)
			return
		}
		a.conflict(w, ev.Seq)
	case ev.Seq == w.contiguous+1:
		if held := w.held[ev.Seq]; held != nil {
			delete(w.held, ev.Seq)
			if a.fingerprint(held) != a.fingerprint(ev) {
				a.conflict(w, ev.Seq)
			}
		}
		// Events held past it stay held: each waits for its own seq to come
		// in order, or for the end.
		a.accept(w, ev, now)
	default:
		if held := w.held[ev.Seq]; held != nil {
			if a.fingerprint(held) == a.fingerprint(ev) {
				a.duplicates++
			} else {
				a.conflict(w, ev.Seq)
			}
			return
		}
		if w.held == nil {
			w.held = make(map[uint64]*schemas.MetricEvent)
		}
		w.held[ev.Seq] = ev
		// The worker is that far along: the seconds before need not wait for
		// it (what fills the gap is counted in the oldest open second).
		if ev.EndNs <= now.Add(maxFutureSkew).UnixNano() {
			w.maxEnd = max(w.maxEnd, ev.EndNs)
			// Its data will come at the latest at the end: its second is
			// one with data, held back like the others once stopping.
			if a.t0 != 0 && ev.EndNs > a.t0 {
				a.maxK = max(a.maxK, a.secondOf(ev.EndNs))
			}
		}
		if len(w.held) > maxHeldAhead {
			oldest := slices.Min(slices.Collect(maps.Keys(w.held)))
			ev := w.held[oldest]
			delete(w.held, oldest)
			a.accept(w, ev, now)
		}
	}
}

// covered: every seq the worker's bye announced was received or is held.
func (w *workerState) covered() bool {
	if w.lastSeq-w.contiguous > uint64(len(w.held)) {
		return false
	}
	for s := w.contiguous + 1; s <= w.lastSeq; s++ {
		if w.held[s] == nil {
			return false
		}
	}
	return true
}

func (a *aggregator) conflict(w *workerState, seq uint64) {
	w.conflicts++
	a.cfg.log.Warn("two different metric events under one seq; the one out of order is not counted", "worker_id", w.id, "seq", seq)
}

// releaseHeld, at the end, counts the events still held behind a gap that
// never filled, except those past the seq the worker's bye announced: those
// were not the worker's.
func (a *aggregator) releaseHeld(now time.Time) {
	for _, w := range a.workers {
		for _, seq := range slices.Sorted(maps.Keys(w.held)) {
			ev := w.held[seq]
			if w.bye && seq > w.lastSeq {
				w.beyond++
				for _, ep := range ev.Endpoints {
					w.beyondRequests += ep.Requests
				}
				continue
			}
			a.accept(w, ev, now)
		}
		w.held = nil
	}
}

// remember notes the fingerprint of a worker's newly received seq.
func (a *aggregator) remember(w *workerState, ev *schemas.MetricEvent) {
	if w.prints == nil {
		w.prints = make(map[uint64]uint64)
	}
	w.prints[ev.Seq] = a.fingerprint(ev)
}

// trustWarnings lists, for people, what the collector could not believe.
func (a *aggregator) trustWarnings() []string {
	var out []string
	if len(a.adm.held) > 0 {
		events, requests := 0, uint64(0)
		var ids []string
		for _, m := range a.adm.held {
			if ev, ok := m.body.(*schemas.MetricEvent); ok {
				events++
				for _, ep := range ev.Endpoints {
					requests += ep.Requests
				}
			}
			if !slices.Contains(ids, m.workerID) {
				ids = append(ids, m.workerID)
			}
		}
		slices.Sort(ids)
		out = append(out, fmt.Sprintf("ignored %d metric events (claiming %d requests) and %d other messages from workers this run never admitted: %s",
			events, requests, len(a.adm.held)-events, strings.Join(ids, ", ")))
	}
	ids := make([]string, 0, len(a.workers))
	for id := range a.workers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		w := a.workers[id]
		if w.conflicts > 0 {
			out = append(out, fmt.Sprintf("worker %s: %d metric events conflicted with another event under the same seq (forged or corrupted); the ones out of order were not counted",
				id, w.conflicts))
		}
		if w.beyond > 0 {
			out = append(out, fmt.Sprintf("worker %s: %d metric events (claiming %d requests) came with seqs past the last one its bye announced; not counted",
				id, w.beyond, w.beyondRequests))
		}
		if w.lost || !w.complete() {
			continue
		}
		if w.requests != w.byeReqs || w.errors != w.byeErrs {
			out = append(out, fmt.Sprintf("worker %s counted %d requests (%d errors) itself but the collector received %d (%d errors): the totals are off by %+d requests",
				id, w.byeReqs, w.byeErrs, w.requests, w.errors, int64(w.requests)-int64(w.byeReqs)))
		}
	}
	return out
}
