package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/schemas"
)

// synthetic makes a plausible result of the given length and endpoints, with
// a stall of the first endpoint from 40% to 45% of the run and errors on the
// last one. Its figures are internally consistent but not from a run.
func synthetic(seconds, endpoints int) *schemas.Result {
	rng := rand.New(rand.NewPCG(1, 2))
	r := &schemas.Result{
		SchemaVersion: schemas.ResultVersion, RunID: "0a1b2c3d4e5f", Name: "checkout", State: schemas.StateCompleted,
		StartedAt: "2026-01-02T10:00:00.000Z", EndedAt: "2026-01-02T10:10:00.000Z", DurationS: float64(seconds),
		HTTPClient: "fast", Protocol: "HTTP/1.1", Plan: "configs/checkout.yaml", Load: "50 VUs for 10m",
		Workers: []schemas.WorkerResult{{ID: "local-1", Requests: 0}},
	}
	total := latency.New()
	hists := make([]*schemas.EndpointResult, endpoints)
	epHists := make([]*histPair, endpoints)
	for i := range endpoints {
		r.Endpoints = append(r.Endpoints, schemas.EndpointResult{
			Name: fmt.Sprintf("endpoint-%02d", i), Method: "GET", URL: fmt.Sprintf("http://127.0.0.1:8080/api/v1/items/%d", i),
			StatusCodes: map[string]uint64{}, ErrorsByKind: map[string]uint64{}, HTTPClient: "fast", Protocol: "HTTP/1.1",
		})
		epHists[i] = &histPair{latency.New(), latency.New()}
	}
	for i := range r.Endpoints {
		hists[i] = &r.Endpoints[i]
	}
	var sec []int64
	for s := 1; s <= seconds; s++ {
		row := schemas.TimelineRow{TS: float64(s), VUs: 50}
		sec = sec[:0]
		stall := s >= seconds*40/100 && s < seconds*45/100
		for i, e := range hists {
			var h []int64
			n := 20 + rng.IntN(30)
			var errs uint64
			for range n {
				us := int64(800 * math.Exp(rng.NormFloat64()*0.6))
				if stall && i == 0 {
					us += 1_500_000
				}
				h = append(h, us)
				latency.Record(epHists[i].lat, us)
				latency.Record(epHists[i].svc, us)
				latency.Record(total, us)
				code := "200"
				if i == endpoints-1 && rng.IntN(10) == 0 {
					code, errs = "500", errs+1
					e.ErrorsByKind[schemas.ErrHTTP5xx]++
				}
				e.StatusCodes[code]++
			}
			sec = append(sec, h...)
			e.Requests += uint64(n)
			e.Errors += errs
			e.BytesIn += uint64(n) * 512
			row.Endpoints = append(row.Endpoints, schemas.TimelineEndpoint{
				Name: e.Name, Method: e.Method, URL: e.URL, Requests: uint64(n), Errors: errs, BytesIn: uint64(n) * 512,
				LatencyMs: summary(h), CumP50Ms: float64(h[len(h)/2]) / 1000,
			})
			row.Requests += uint64(n)
			row.Errors += errs
			row.BytesIn += uint64(n) * 512
		}
		row.RPS = float64(row.Requests)
		row.LatencyMs, row.CumP50Ms = summary(sec), float64(sec[len(sec)/2])/1000
		r.Timeline = append(r.Timeline, row)
	}
	t := &r.Totals
	t.StatusCodes, t.ErrorsByKind = map[string]uint64{}, map[string]uint64{}
	for i := range r.Endpoints {
		e := &r.Endpoints[i]
		e.RPS = float64(e.Requests) / float64(seconds)
		e.LatencyMs, e.ServiceTimeMs, e.LatencyMoreMs = latency.Summary(epHists[i].lat), latency.Summary(epHists[i].svc), latency.More(epHists[i].lat)
		e.Spectrum = &schemas.Spectrum{LatencyMs: latency.Spectrum(epHists[i].lat), ServiceTimeMs: latency.Spectrum(epHists[i].svc)}
		e.TimingsMs = schemas.TimingsMs{NewConnections: 50,
			Connecting: schemas.LatencyMs{Min: 0.05, Mean: 0.1, P50: 0.1, P90: 0.2, P95: 0.2, P99: 0.3, P999: 0.3, Max: 0.4},
			Waiting:    e.LatencyMs, Receiving: schemas.LatencyMs{Min: 0.01, Mean: 0.03, P50: 0.02, P90: 0.05, P95: 0.06, P99: 0.1, P999: 0.2, Max: 0.3}}
		t.Requests, t.Errors, t.BytesIn = t.Requests+e.Requests, t.Errors+e.Errors, t.BytesIn+e.BytesIn
		for k, v := range e.StatusCodes {
			t.StatusCodes[k] += v
		}
		for k, v := range e.ErrorsByKind {
			t.ErrorsByKind[k] += v
		}
	}
	t.RPS, t.Iterations = float64(t.Requests)/float64(seconds), t.Requests
	t.LatencyMs, t.ServiceTimeMs, t.LatencyMoreMs = latency.Summary(total), latency.Summary(total), latency.More(total)
	t.Spectrum = &schemas.Spectrum{LatencyMs: latency.Spectrum(total), ServiceTimeMs: latency.Spectrum(total)}
	t.TimingsMs = r.Endpoints[0].TimingsMs
	r.Workers[0].Requests, r.Workers[0].Errors = t.Requests, t.Errors
	return r
}

type histPair struct{ lat, svc *hdrhistogram.Histogram }

// summary summarises values in µs, cheaply (the HDR summaries under the race
// detector would make a long synthetic run slow to build).
func summary(us []int64) schemas.LatencyMs {
	slices.Sort(us)
	at := func(q float64) float64 { return float64(us[min(len(us)-1, int(q*float64(len(us))))]) / 1000 }
	var sum int64
	for _, v := range us {
		sum += v
	}
	return schemas.LatencyMs{Min: at(0), Mean: float64(sum) / float64(len(us)) / 1000, P50: at(0.5), P90: at(0.9),
		P95: at(0.95), P99: at(0.99), P999: at(0.999), Max: float64(us[len(us)-1]) / 1000}
}
