package report

import (
	"math"
	"strconv"
	"strings"

	"github.com/loadforge/loadforge/schemas"
)

// page is everything the template shows, computed from the result alone.
type page struct {
	R          *schemas.Result
	Version    string
	Title      string
	Meta       []metaItem
	Cards      []card
	Endpoints  []endpointRow
	Total      endpointRow
	Over       []Chart // the run over time
	EpLatency  []Chart // each endpoint's latency over time
	Spectrum   Chart
	EpSpectra  []Chart
	Step       int // seconds per point of the time charts
	Open       bool
	Timings    []timingRow
	EpTimings  []timingBars
	BarsHeight int
	ChecksPct  string
	Dist       []distRow
}

// distRow is one statistic of the distribution table beside the spectrum.
type distRow struct {
	Label                 string
	Latency, Service, Lag float64
}

type metaItem struct{ Label, Value string }

type card struct {
	Label, Value, Sub string
	Bad               bool
}

// endpointRow is one row of the endpoints table.
type endpointRow struct {
	Name, Method, URL string
	Requests, Errors  uint64
	RPS               float64
	Lat               schemas.LatencyMs
	Codes, Kinds      []kv
	Checks            []schemas.CheckCount
	Protocol, Client  string
}

// timingRow is one phase of the timing breakdown.
type timingRow struct {
	Phase, Note string
	L           schemas.LatencyMs
}

// timingBars is one endpoint's mean time per request, by phase, as bar
// segments in the breakdown chart (x and width in viewBox units).
type timingBars struct {
	Name     string
	Y        float64
	Segments []segment
	Total    string
}

type segment struct {
	Class, Label string
	X, W         float64
}

func build(r *schemas.Result, version string) *page {
	p := &page{R: r, Version: version, Title: r.Name}
	if p.Title == "" {
		p.Title = "loadforge run"
	}
	p.Open = r.Totals.ScheduleLagMs != nil
	p.meta()
	p.cards()
	for _, e := range r.Endpoints {
		p.Endpoints = append(p.Endpoints, endpointRow{
			Name: e.Name, Method: e.Method, URL: e.URL, Requests: e.Requests, Errors: e.Errors, RPS: e.RPS,
			Lat: e.LatencyMs, Codes: sortedCounts(e.StatusCodes), Kinds: sortedCounts(e.ErrorsByKind),
			Checks: e.Checks, Protocol: e.Protocol, Client: e.HTTPClient,
		})
	}
	t := r.Totals
	p.Total = endpointRow{Name: "All endpoints", Requests: t.Requests, Errors: t.Errors, RPS: t.RPS, Lat: t.LatencyMs,
		Codes: sortedCounts(t.StatusCodes), Kinds: sortedCounts(t.ErrorsByKind)}
	p.overTime()
	p.spectra()
	p.timings()
	return p
}

func (p *page) meta() {
	r := p.R
	add := func(label, value string) {
		if value != "" {
			p.Meta = append(p.Meta, metaItem{label, value})
		}
	}
	plan := r.Plan
	if plan == "" {
		plan = "(flags only)"
	}
	add("Plan", plan)
	add("Load", r.Load)
	add("Started", strings.Replace(r.StartedAt, "T", " ", 1))
	add("Ended", strings.Replace(r.EndedAt, "T", " ", 1))
	add("Duration", fmtSeconds(r.DurationS))
	lost := 0
	for _, w := range r.Workers {
		if w.Lost {
			lost++
		}
	}
	workers := strconv.Itoa(len(r.Workers))
	if len(r.Workers) == 1 && r.Workers[0].Name == "" {
		workers = "1 (local)"
	}
	if lost > 0 {
		workers += " (" + strconv.Itoa(lost) + " lost)"
	}
	add("Workers", workers)
	add("HTTP client", r.HTTPClient)
	add("Protocol", r.Protocol)
	add("Run ID", r.RunID)
}

func (p *page) cards() {
	t := p.R.Totals
	p.Cards = append(p.Cards,
		card{Label: "Requests", Value: fmtCount(t.Requests), Sub: fmtNum(t.RPS) + " req/s"},
		card{Label: "Errors", Value: fmtCount(t.Errors), Sub: fmtPct(t.Errors, t.Requests) + " of requests", Bad: t.Errors > 0},
		card{Label: "Latency p50", Value: fmtMs(t.LatencyMs.P50), Sub: "mean " + fmtMs(t.LatencyMs.Mean)},
		card{Label: "Latency p99", Value: fmtMs(t.LatencyMs.P99), Sub: "max " + fmtMs(t.LatencyMs.Max)},
		card{Label: "Data received", Value: fmtBytes(t.BytesIn), Sub: fmtBytes(t.BytesOut) + " sent"},
	)
	it := card{Label: "Iterations", Value: fmtCount(t.Iterations)}
	if t.DroppedIterations > 0 {
		it.Sub, it.Bad = fmtCount(t.DroppedIterations)+" dropped", true
	}
	p.Cards = append(p.Cards, it)
	if th := p.R.Thresholds; len(th) > 0 {
		failed := 0
		for _, x := range th {
			if !x.OK {
				failed++
			}
		}
		c := card{Label: "Thresholds", Value: strconv.Itoa(len(th)-failed) + " of " + strconv.Itoa(len(th)), Sub: "passed"}
		if failed > 0 {
			c.Sub, c.Bad = "passed · "+strconv.Itoa(failed)+" failed", true
		}
		p.Cards = append(p.Cards, c)
	}
	if c := p.R.Checks; c != nil {
		p.ChecksPct = fmtPct(c.Passes, c.Passes+c.Fails)
		p.Cards = append(p.Cards, card{Label: "Checks passed", Value: p.ChecksPct,
			Sub: fmtCount(c.Passes) + " ✓ " + fmtCount(c.Fails) + " ✗", Bad: c.Fails > 0})
	}
}

// epKey identifies an endpoint across the result's lists.
func epKey(name, method, url string) string { return name + "\x00" + method + "\x00" + url }

// overTime draws the time charts. A run longer than maxPoints seconds is
// drawn in steps of several seconds: rates over the step, VUs at its end,
// latencies the highest of its seconds (so that a stall still shows).
func (p *page) overTime() {
	r := p.R
	n := len(r.Timeline)
	step := max(1, (n+maxPoints-1)/maxPoints)
	if k := r.EndpointsEvery; k > 1 {
		// Each point must hold whole spans of the merged breakdown.
		step = (max(step, k) + k - 1) / k * k
	}
	p.Step = step
	groups := (n + step - 1) / step
	nan := math.NaN()
	xs := make([]float64, groups)
	vus, rps, errs, dropped := make([]float64, groups), make([]float64, groups), make([]float64, groups), make([]float64, groups)
	p50, p95, p99, pmax := make([]float64, groups), make([]float64, groups), make([]float64, groups), make([]float64, groups)
	type epSeries struct{ rps, p50, p95, p99, max []float64 }
	eps := make(map[string]*epSeries, len(r.Endpoints))
	for _, e := range r.Endpoints {
		s := &epSeries{make([]float64, groups), make([]float64, groups), make([]float64, groups), make([]float64, groups), make([]float64, groups)}
		for g := range groups {
			s.p50[g], s.p95[g], s.p99[g], s.max[g] = nan, nan, nan, nan
		}
		eps[epKey(e.Name, e.Method, e.URL)] = s
	}
	anyDropped := false
	prevTS := 0.0
	for g := range groups {
		var length float64
		var req, nerr, drop uint64
		p50[g], p95[g], p99[g], pmax[g] = nan, nan, nan, nan
		epReq := map[string]uint64{}
		for i := g * step; i < min(n, (g+1)*step); i++ {
			row := r.Timeline[i]
			length += row.TS - prevTS
			prevTS = row.TS
			req, nerr, drop = req+row.Requests, nerr+row.Errors, drop+row.DroppedIterations
			xs[g], vus[g] = row.TS, float64(row.VUs)
			if row.Requests > 0 {
				p50[g], p95[g], p99[g] = maxNaN(p50[g], row.LatencyMs.P50), maxNaN(p95[g], row.LatencyMs.P95), maxNaN(p99[g], row.LatencyMs.P99)
				pmax[g] = maxNaN(pmax[g], row.LatencyMs.Max)
			}
			for _, e := range row.Endpoints {
				s := eps[epKey(e.Name, e.Method, e.URL)]
				if s == nil {
					continue
				}
				epReq[epKey(e.Name, e.Method, e.URL)] += e.Requests
				if e.Requests > 0 {
					s.p50[g], s.p95[g], s.p99[g] = maxNaN(s.p50[g], e.LatencyMs.P50), maxNaN(s.p95[g], e.LatencyMs.P95), maxNaN(s.p99[g], e.LatencyMs.P99)
					s.max[g] = maxNaN(s.max[g], e.LatencyMs.Max)
				}
			}
		}
		if length <= 0 {
			length = 1
		}
		rps[g], errs[g], dropped[g] = float64(req)/length, float64(nerr)/length, float64(drop)/length
		anyDropped = anyDropped || drop > 0
		for k, s := range eps {
			s.rps[g] = float64(epReq[k]) / length
		}
	}
	per := "per second"
	if step > 1 {
		per = "per second, in steps of " + strconv.Itoa(step) + "s"
	}
	vuChart := timeChart("vus", "Virtual users", "VUs", xs, []line{{name: "VUs", class: 0, ys: vus}}, fmtAxis)
	vuChart.Note = "running at the end of each second"
	rpsLines := []line{{name: "all", class: 0, ys: rps}}
	// Beyond a few endpoints their lines would only hide one another; the table has their rates.
	if len(r.Endpoints) > 1 && len(r.Endpoints) <= maxRateLines {
		for i, e := range r.Endpoints {
			rpsLines = append(rpsLines, line{name: e.Name, class: i + 1, ys: eps[epKey(e.Name, e.Method, e.URL)].rps, dashed: true})
		}
	}
	rpsChart := timeChart("rps", "Requests per second", "req/s", xs, rpsLines, fmtAxis)
	rpsChart.Note = per
	if len(r.Endpoints) > maxRateLines {
		rpsChart.Note += "; each endpoint's rate is in the endpoints table"
	}
	errLines := []line{{name: "errors/s", class: 3, ys: errs}}
	if anyDropped {
		errLines = append(errLines, line{name: "dropped iterations/s", class: 5, ys: dropped, dashed: true})
	}
	errChart := timeChart("errors", "Errors and dropped iterations", "/s", xs, errLines, fmtAxis)
	errChart.Note = per
	if !anyDropped {
		errChart.Note += "; no iteration was dropped"
	}
	latNote := "per second"
	if step > 1 {
		latNote = "the highest second of each " + strconv.Itoa(step) + "s step"
	}
	latLines := func(a, b, c, d []float64) []line {
		return []line{{name: "p50", class: 0, ys: a}, {name: "p95", class: 1, ys: b}, {name: "p99", class: 3, ys: c},
			{name: "max", class: 7, ys: d, dashed: true}}
	}
	latChart := timeChart("latency", "Latency", "ms", xs, latLines(p50, p95, p99, pmax), fmtMsAxis)
	latChart.Note = latNote
	p.Over = []Chart{vuChart, rpsChart, errChart, latChart}
	for i, e := range r.Endpoints {
		s := eps[epKey(e.Name, e.Method, e.URL)]
		c := timeChart("lat-"+strconv.Itoa(i), e.Name, "ms", xs, latLines(s.p50, s.p95, s.p99, s.max), fmtMsAxis)
		c.Note = e.Method + " " + e.URL
		p.EpLatency = append(p.EpLatency, c)
	}
}

// maxRateLines is the most endpoints drawn one by one on the rate chart.
const maxRateLines = 8

func maxNaN(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return max(a, b)
}

// spectra draws the percentile spectra: corrected latency and service time.
func (p *page) spectra() {
	lines := func(sp *schemas.Spectrum) []line {
		if sp == nil {
			return nil
		}
		mk := func(name string, class int, pts [][2]float64, dashed bool) line {
			l := line{name: name, class: class, dashed: dashed}
			for _, pt := range pts {
				l.xs, l.ys = append(l.xs, pt[0]), append(l.ys, pt[1])
			}
			return l
		}
		first := "latency"
		if p.Open {
			first = "latency (corrected)"
		}
		return []line{mk(first, 0, sp.LatencyMs, false), mk("service time", 1, sp.ServiceTimeMs, true)}
	}
	p.Spectrum = spectrumChart("spectrum", "All endpoints", lines(p.R.Totals.Spectrum))
	t := p.R.Totals
	lag := schemas.LatencyMs{}
	if t.ScheduleLagMs != nil {
		lag = *t.ScheduleLagMs
	}
	pick := func(l schemas.LatencyMs) []float64 {
		return []float64{l.Min, l.Mean, l.P50, l.P90, l.P95, l.P99, l.P999, l.Max}
	}
	lt, sv, lg := pick(t.LatencyMs), pick(t.ServiceTimeMs), pick(lag)
	for i, label := range []string{"min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"} {
		p.Dist = append(p.Dist, distRow{label, lt[i], sv[i], lg[i]})
	}
	for i, e := range p.R.Endpoints {
		c := spectrumChart("spectrum-"+strconv.Itoa(i), e.Name, lines(e.Spectrum))
		c.Note = e.Method + " " + e.URL
		p.EpSpectra = append(p.EpSpectra, c)
	}
}

// Breakdown bars: one row per endpoint, scaled to the longest total.
const (
	barsLeft   = 150.0
	barsRight  = chartW - 70.0
	barsRow    = 26.0
	barsHeight = 16.0
)

func (p *page) timings() {
	t := p.R.Totals.TimingsMs
	conn := "TCP connect, of the " + fmtCount(t.NewConnections) + " requests that opened a connection"
	p.Timings = []timingRow{
		{"Connecting", conn, t.Connecting},
		{"TLS handshaking", "of the requests that opened a connection", t.TLSHandshaking},
		{"Waiting", "request written → first response byte (TTFB)", t.Waiting},
		{"Receiving", "first byte → body read", t.Receiving},
	}
	// Mean time per request by phase: connection set-up spread over every request.
	type part struct{ conn, tls, wait, recv float64 }
	parts := make([]part, len(p.R.Endpoints))
	longest := 0.0
	for i, e := range p.R.Endpoints {
		tm := e.TimingsMs
		share := 0.0
		if e.Requests > 0 {
			share = float64(tm.NewConnections) / float64(e.Requests)
		}
		parts[i] = part{tm.Connecting.Mean * share, tm.TLSHandshaking.Mean * share, tm.Waiting.Mean, tm.Receiving.Mean}
		longest = max(longest, parts[i].conn+parts[i].tls+parts[i].wait+parts[i].recv)
	}
	if longest <= 0 {
		return
	}
	scale := (barsRight - barsLeft) / longest
	for i, e := range p.R.Endpoints {
		b := timingBars{Name: e.Name, Y: float64(i) * barsRow}
		x := barsLeft
		pt := parts[i]
		for _, s := range []struct {
			class, label string
			v            float64
		}{{"s4", "connecting", pt.conn}, {"s5", "TLS", pt.tls}, {"s0", "waiting", pt.wait}, {"s2", "receiving", pt.recv}} {
			w := s.v * scale
			if w <= 0 {
				continue
			}
			b.Segments = append(b.Segments, segment{Class: s.class, Label: s.label + " " + fmtMs(s.v), X: round1(x), W: round1(w)})
			x += w
		}
		b.Total = fmtMs(pt.conn + pt.tls + pt.wait + pt.recv)
		p.EpTimings = append(p.EpTimings, b)
	}
	p.BarsHeight = int(float64(len(p.EpTimings))*barsRow) + 4
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// HasEpChecks: some endpoint has checks.
func (p *page) HasEpChecks() bool {
	for _, e := range p.Endpoints {
		if len(e.Checks) > 0 {
			return true
		}
	}
	return false
}
