// Package csvout writes a result as Locust's --csv files (PREFIX_stats.csv,
// PREFIX_stats_history.csv, PREFIX_failures.csv) with Locust's column names
// and order, so that scripts written for Locust read them. Unlike Locust's,
// the percentiles are not rounded: they are the histogram's (3 significant
// digits), in ms with µs decimals.
package csvout

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loadforge/loadforge/internal/output"
	"github.com/loadforge/loadforge/schemas"
)

// The files' suffixes after PREFIX.
const (
	StatsSuffix    = "_stats.csv"
	HistorySuffix  = "_stats_history.csv"
	FailuresSuffix = "_failures.csv"
)

// Percentiles are Locust's default PERCENTILES_TO_REPORT, as its column names.
var Percentiles = []string{"50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"}

// Column headers, as Locust writes them.
var (
	StatsHeader = append([]string{"Type", "Name", "Request Count", "Failure Count", "Median Response Time",
		"Average Response Time", "Min Response Time", "Max Response Time", "Average Content Size",
		"Requests/s", "Failures/s"}, Percentiles...)
	HistoryHeader = slices.Concat([]string{"Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s"},
		Percentiles, []string{"Total Request Count", "Total Failure Count", "Total Median Response Time",
			"Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
			"Total Average Content Size"})
	FailuresHeader = []string{"Method", "Name", "Error", "Occurrences"}
)

// aggregated is Locust's name for the row of every endpoint together.
const aggregated = "Aggregated"

// na is what Locust writes where there is no figure.
const na = "N/A"

// Paths gives the three files' paths for prefix.
func Paths(prefix string) []string {
	return []string{prefix + StatsSuffix, prefix + HistorySuffix, prefix + FailuresSuffix}
}

// Write writes the three files for r, each atomically.
func Write(prefix string, r *schemas.Result) error {
	t0, err := time.Parse(time.RFC3339Nano, r.StartedAt)
	if err != nil {
		return fmt.Errorf("csv: started_at %q: %w", r.StartedAt, err)
	}
	files := []struct {
		path string
		rows [][]string
	}{
		{prefix + StatsSuffix, statsRows(r)},
		{prefix + HistorySuffix, historyRows(r, t0)},
		{prefix + FailuresSuffix, failureRows(r)},
	}
	for _, f := range files {
		var b bytes.Buffer
		w := csv.NewWriter(&b)
		if err := w.WriteAll(f.rows); err != nil {
			return fmt.Errorf("csv %s: %w", f.path, err)
		}
		if err := writeAtomic(f.path, b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// ms writes a latency in ms, to the µs.
func ms(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

// rate writes a per-second figure.
func rate(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }

func percentiles(l schemas.LatencyMs, m schemas.LatencyMoreMs) []string {
	return []string{ms(l.P50), ms(m.P66), ms(m.P75), ms(m.P80), ms(l.P90), ms(l.P95), ms(m.P98), ms(l.P99), ms(l.P999), ms(m.P9999), ms(l.Max)}
}

func noPercentiles() []string {
	out := make([]string, len(Percentiles))
	for i := range out {
		out[i] = na
	}
	return out
}

func avgSize(bytesIn, requests uint64) string {
	if requests == 0 {
		return "0"
	}
	return strconv.FormatFloat(math.Round(float64(bytesIn)/float64(requests)*100)/100, 'f', -1, 64)
}

// sortedEndpoints orders endpoints as Locust does: by name, then method.
func sortedEndpoints(r *schemas.Result) []schemas.EndpointResult {
	eps := slices.Clone(r.Endpoints)
	slices.SortStableFunc(eps, func(a, b schemas.EndpointResult) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Method, b.Method), cmp.Compare(a.URL, b.URL))
	})
	return eps
}

func statsRows(r *schemas.Result) [][]string {
	rows := [][]string{StatsHeader}
	perSec := func(n uint64) string {
		if r.DurationS <= 0 {
			return "0"
		}
		return rate(float64(n) / r.DurationS)
	}
	row := func(typ, name string, req, errs, bytesIn uint64, l schemas.LatencyMs, m schemas.LatencyMoreMs) []string {
		out := []string{typ, name, u(req), u(errs), ms(l.P50), ms(l.Mean), ms(l.Min), ms(l.Max), avgSize(bytesIn, req), perSec(req), perSec(errs)}
		if req == 0 {
			return append(out, noPercentiles()...)
		}
		return append(out, percentiles(l, m)...)
	}
	for _, e := range sortedEndpoints(r) {
		rows = append(rows, row(e.Method, e.Name, e.Requests, e.Errors, e.BytesIn, e.LatencyMs, e.LatencyMoreMs))
	}
	t := r.Totals
	return append(rows, row("", aggregated, t.Requests, t.Errors, t.BytesIn, t.LatencyMs, t.LatencyMoreMs))
}

// cumulative follows one endpoint (or all) from the run's start.
type cumulative struct {
	requests, errors, bytesIn uint64
	sum                       float64 // of latency, ms: mean × requests of each second
	min, max                  float64
	median                    float64
}

func (c *cumulative) add(req, errs, bytesIn uint64, l schemas.LatencyMs, median float64) {
	if req > 0 {
		if c.requests == 0 || l.Min < c.min {
			c.min = l.Min
		}
		c.max = max(c.max, l.Max)
		c.sum += l.Mean * float64(req)
	}
	c.requests, c.errors, c.bytesIn = c.requests+req, c.errors+errs, c.bytesIn+bytesIn
	if median > 0 || req > 0 {
		c.median = median
	}
}

func (c *cumulative) fields() []string {
	mean := 0.0
	if c.requests > 0 {
		mean = c.sum / float64(c.requests)
	}
	return []string{u(c.requests), u(c.errors), ms(c.median), ms(mean), ms(c.min), ms(c.max), avgSize(c.bytesIn, c.requests)}
}

func epKey(name, method, url string) string { return name + "\x00" + method + "\x00" + url }

// historyRows writes, for every second of the timeline, a row per endpoint
// that has had requests so far and the Aggregated row, as Locust's
// --csv-full-history does. Requests/s and the percentiles are that second's;
// the Total columns run from the start of the run through it.
func historyRows(r *schemas.Result, t0 time.Time) [][]string {
	rows := [][]string{HistoryHeader}
	eps := sortedEndpoints(r)
	cum := make(map[string]*cumulative, len(eps))
	var all cumulative
	prev, prevEp := 0.0, 0.0
	merged := r.EndpointsEvery > 1
	for _, row := range r.Timeline {
		length := row.TS - prev
		prev = row.TS
		if length <= 0 {
			length = 1
		}
		// A merged breakdown (timeline_endpoints_every) covers the seconds since the previous one.
		epLength := length
		if merged {
			epLength = max(row.TS-prevEp, length)
		}
		// The second's end, in whole seconds of the run: the last, partial
		// second still gets a stamp of its own.
		stamp := strconv.FormatInt(t0.Add(time.Duration(math.Ceil(row.TS))*time.Second).Unix(), 10)
		vus := strconv.Itoa(row.VUs)
		seen := make(map[string]schemas.TimelineEndpoint, len(row.Endpoints))
		for _, e := range row.Endpoints {
			seen[epKey(e.Name, e.Method, e.URL)] = e
		}
		for _, e := range eps {
			if merged && len(row.Endpoints) == 0 {
				break // this second's breakdown is in a later row
			}
			k := epKey(e.Name, e.Method, e.URL)
			s, ok := seen[k]
			c := cum[k]
			if c == nil {
				if !ok {
					continue // no request yet: Locust has no entry for it either
				}
				c = &cumulative{}
				cum[k] = c
			}
			c.add(s.Requests, s.Errors, s.BytesIn, s.LatencyMs, s.CumP50Ms)
			out := []string{stamp, vus, e.Method, e.Name, rate(float64(s.Requests) / epLength), rate(float64(s.Errors) / epLength)}
			if s.Requests > 0 {
				out = append(out, percentiles(s.LatencyMs, s.LatencyMoreMs)...)
			} else {
				out = append(out, noPercentiles()...)
			}
			rows = append(rows, append(out, c.fields()...))
		}
		if len(row.Endpoints) > 0 {
			prevEp = row.TS
		}
		all.add(row.Requests, row.Errors, row.BytesIn, row.LatencyMs, row.CumP50Ms)
		out := []string{stamp, vus, "", aggregated, rate(float64(row.Requests) / length), rate(float64(row.Errors) / length)}
		if row.Requests > 0 {
			out = append(out, percentiles(row.LatencyMs, row.LatencyMoreMs)...)
		} else {
			out = append(out, noPercentiles()...)
		}
		rows = append(rows, append(out, all.fields()...))
	}
	return rows
}

// failureRows lists each endpoint's errors: a response with status 400 or
// more as "HTTP <code>", every other error by its kind (timeout, refused …),
// most frequent first as Locust sorts them.
func failureRows(r *schemas.Result) [][]string {
	type failure struct {
		method, name, err string
		n                 uint64
	}
	var fs []failure
	for _, e := range r.Endpoints {
		for code, n := range e.StatusCodes {
			if c, err := strconv.Atoi(code); err == nil && c >= 400 && n > 0 {
				fs = append(fs, failure{e.Method, e.Name, "HTTP " + code, n})
			}
		}
		for kind, n := range e.ErrorsByKind {
			if !strings.HasPrefix(kind, "http_") && n > 0 {
				fs = append(fs, failure{e.Method, e.Name, kind, n})
			}
		}
	}
	slices.SortFunc(fs, func(a, b failure) int {
		return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.name, b.name), cmp.Compare(a.method, b.method), cmp.Compare(a.err, b.err))
	})
	rows := [][]string{FailuresHeader}
	for _, f := range fs {
		rows = append(rows, []string{f.method, f.name, f.err, u(f.n)})
	}
	return rows
}

func writeAtomic(path string, data []byte) error {
	if err := output.WriteFile(path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
