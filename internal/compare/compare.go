// Package compare holds two result documents side by side: per-endpoint and
// total deltas of throughput, error rate and latency, judged by regression
// rules (--fail-if). It works from schemas.Result alone; the report it builds
// is written as text, Markdown (a pull-request comment) or JSON.
package compare

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/loadforge/loadforge/schemas"
)

// ReportVersion is the version of the JSON report (schema_version).
const ReportVersion = 1

// Row verdicts.
const (
	VerdictOK      = "ok"      // in both runs, no rule broken
	VerdictFail    = "fail"    // a rule is broken: see Failed
	VerdictAdded   = "added"   // only in the new run
	VerdictRemoved = "removed" // only in the base run
	// VerdictNoData: in both runs, but one of them has no requests, so its
	// latency and error rate say nothing (only rps rules apply).
	VerdictNoData = "no_data"
)

// Report is the comparison of two runs. Its JSON form is the stable document
// of `loadforge compare --format json` (see README.md).
type Report struct {
	SchemaVersion int      `json:"schema_version"`
	Base          RunInfo  `json:"base"`
	New           RunInfo  `json:"new"`
	Rules         []string `json:"rules"`
	// Regressions counts the rows (endpoints and totals) whose verdict is fail.
	Regressions int   `json:"regressions"`
	Endpoints   []Row `json:"endpoints"`
	Totals      Row   `json:"totals"`
}

// RunInfo names one of the two runs.
type RunInfo struct {
	File      string  `json:"file"`
	RunID     string  `json:"run_id"`
	Name      string  `json:"name"`
	State     string  `json:"state"`
	StartedAt string  `json:"started_at"`
	DurationS float64 `json:"duration_s"`
}

// Row is one endpoint (or the totals) in both runs.
type Row struct {
	Name    string `json:"name"`
	Method  string `json:"method"`
	URL     string `json:"url"`
	Verdict string `json:"verdict"`
	// Failed lists the broken rules (verdict fail); empty otherwise.
	Failed    []Breach `json:"failed"`
	Requests  Delta    `json:"requests"`
	RPS       Delta    `json:"rps"`
	ErrorRate Delta    `json:"error_rate"`
	P50       Delta    `json:"p50"`
	P90       Delta    `json:"p90"`
	P95       Delta    `json:"p95"`
	P99       Delta    `json:"p99"`
	Max       Delta    `json:"max"`
}

// Delta is one figure in both runs. A side the endpoint is absent from is null,
// and so are diff and pct then; pct is also null when base is 0.
type Delta struct {
	Base *float64 `json:"base"`
	New  *float64 `json:"new"`
	Diff *float64 `json:"diff"` // new − base
	Pct  *float64 `json:"pct"`  // 100·(new − base)/base
}

// Breach is one broken rule: the rule in canonical form and the change it saw.
type Breach struct {
	Rule   string   `json:"rule"`
	Metric Metric   `json:"metric"`
	Diff   float64  `json:"diff"`
	Pct    *float64 `json:"pct"`
}

// Of returns the Delta of metric m.
func (r *Row) Of(m Metric) Delta { return *r.delta(m) }

func (r *Row) delta(m Metric) *Delta {
	switch m {
	case RPS:
		return &r.RPS
	case ErrorRate:
		return &r.ErrorRate
	case P50:
		return &r.P50
	case P90:
		return &r.P90
	case P95:
		return &r.P95
	case P99:
		return &r.P99
	default:
		return &r.Max
	}
}

// figures is one side of a row.
type figures struct {
	requests, errors uint64
	rps              float64
	latency          schemas.LatencyMs
}

func (f *figures) value(m Metric) float64 {
	switch m {
	case RPS:
		return f.rps
	case ErrorRate:
		if f.requests == 0 {
			return 0
		}
		return float64(f.errors) / float64(f.requests)
	case P50:
		return f.latency.P50
	case P90:
		return f.latency.P90
	case P95:
		return f.latency.P95
	case P99:
		return f.latency.P99
	default:
		return f.latency.Max
	}
}

func endpointFigures(e *schemas.EndpointResult) *figures {
	return &figures{requests: e.Requests, errors: e.Errors, rps: e.RPS, latency: e.LatencyMs}
}

// Compare holds base and cur side by side and judges every row by rules.
// Endpoints match by name, method and URL; those left match by name and
// method (the base URL may differ between environments).
func Compare(base, cur *schemas.Result, rules []Rule) *Report {
	rep := &Report{SchemaVersion: ReportVersion, Base: info(base), New: info(cur), Rules: []string{}, Endpoints: []Row{}}
	for _, r := range rules {
		rep.Rules = append(rep.Rules, r.String())
	}
	matched := make([]int, len(cur.Endpoints)) // index into base.Endpoints, or -1
	used := make([]bool, len(base.Endpoints))
	for i := range matched {
		matched[i] = -1
	}
	for _, sameURL := range []bool{true, false} {
		for i := range cur.Endpoints {
			if matched[i] >= 0 {
				continue
			}
			n := &cur.Endpoints[i]
			for j := range base.Endpoints {
				b := &base.Endpoints[j]
				if !used[j] && b.Name == n.Name && b.Method == n.Method && (!sameURL || b.URL == n.URL) {
					matched[i], used[j] = j, true
					break
				}
			}
		}
	}
	for i := range cur.Endpoints {
		n := &cur.Endpoints[i]
		var b *figures
		if j := matched[i]; j >= 0 {
			b = endpointFigures(&base.Endpoints[j])
		}
		rep.Endpoints = append(rep.Endpoints, row(n.Name, n.Method, n.URL, true, b, endpointFigures(n), rules))
	}
	for j := range base.Endpoints {
		if !used[j] {
			b := &base.Endpoints[j]
			rep.Endpoints = append(rep.Endpoints, row(b.Name, b.Method, b.URL, true, endpointFigures(b), nil, rules))
		}
	}
	totals := func(r *schemas.Result) *figures {
		t := &r.Totals
		return &figures{requests: t.Requests, errors: t.Errors, rps: t.RPS, latency: t.LatencyMs}
	}
	rep.Totals = row("total", "", "", false, totals(base), totals(cur), rules)
	for _, r := range rep.Endpoints {
		if r.Verdict == VerdictFail {
			rep.Regressions++
		}
	}
	if rep.Totals.Verdict == VerdictFail {
		rep.Regressions++
	}
	return rep
}

func info(r *schemas.Result) RunInfo {
	return RunInfo{RunID: r.RunID, Name: r.Name, State: r.State, StartedAt: r.StartedAt, DurationS: r.DurationS}
}

// row compares one endpoint (or the totals); b or n is nil when it is
// absent from that run.
func row(name, method, url string, isEndpoint bool, b, n *figures, rules []Rule) Row {
	r := Row{Name: name, Method: method, URL: url, Failed: []Breach{}}
	r.Requests = delta(b, n, func(f *figures) float64 { return float64(f.requests) })
	for _, m := range Metrics {
		*r.delta(m) = delta(b, n, func(f *figures) float64 { return f.value(m) })
	}
	switch {
	case b == nil:
		r.Verdict = VerdictAdded
		return r
	case n == nil:
		r.Verdict = VerdictRemoved
		return r
	}
	noData := b.requests == 0 || n.requests == 0
	for _, rule := range rules {
		if rule.Endpoint != "" && (!isEndpoint || rule.Endpoint != name) {
			continue
		}
		if noData && rule.Metric != RPS {
			continue // a latency or error rate of no requests is no figure
		}
		bv, nv := b.value(rule.Metric), n.value(rule.Metric)
		if rule.breached(bv, nv) {
			d := r.Of(rule.Metric)
			r.Failed = append(r.Failed, Breach{Rule: rule.String(), Metric: rule.Metric, Diff: nv - bv, Pct: d.Pct})
		}
	}
	switch {
	case len(r.Failed) > 0:
		r.Verdict = VerdictFail
	case noData:
		r.Verdict = VerdictNoData
	default:
		r.Verdict = VerdictOK
	}
	return r
}

func delta(b, n *figures, get func(*figures) float64) Delta {
	var d Delta
	if b != nil {
		d.Base = ptr(get(b))
	}
	if n != nil {
		d.New = ptr(get(n))
	}
	if b != nil && n != nil {
		diff := *d.New - *d.Base
		d.Diff = ptr(diff)
		if *d.Base != 0 {
			d.Pct = ptr(100 * diff / math.Abs(*d.Base))
		}
	}
	return d
}

func ptr(v float64) *float64 { return &v }

// Load reads a result document (loadforge run --out). The error says, in one
// line, why a file is not one.
func Load(path string) (*schemas.Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return Parse(path, data)
}

// Parse reads a result document from data; name says where it came from in errors.
func Parse(path string, data []byte) (*schemas.Result, error) {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("%s: not a loadforge result (--out) document: %s", path, jsonError(data, err))
	}
	for _, k := range []string{"schema_version", "totals", "endpoints"} {
		if _, ok := keys[k]; !ok {
			return nil, fmt.Errorf("%s: not a loadforge result (--out) document: no %q", path, k)
		}
	}
	var r schemas.Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not a loadforge result (--out) document: %s", path, jsonError(data, err))
	}
	if r.SchemaVersion != schemas.ResultVersion {
		return nil, fmt.Errorf("%s: schema_version %d: this loadforge reads result documents of version %d", path, r.SchemaVersion, schemas.ResultVersion)
	}
	return &r, nil
}

// jsonError says where a document went wrong: the field, or the line.
func jsonError(data []byte, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return "want a JSON object, got " + te.Value
		}
		return fmt.Sprintf("%s: want %s, got %s", te.Field, te.Type, te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + strings.Count(string(data[:min(int(se.Offset), len(data))]), "\n")
		return fmt.Sprintf("line %d: %v", line, se)
	}
	return err.Error()
}
