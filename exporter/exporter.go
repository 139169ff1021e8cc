// Package exporter is a consumer of the loadforge bus: it follows every run
// on a bus (or one run) through the workers' metric events, the session's
// states and the thresholds' verdicts, and serves them to Prometheus on
// /metrics. It only reads the bus: a run does not know it is there.
//
// Counters come from the metric events, not from the collector's snapshots,
// so that several workers add up and the exporter needs no collector; each
// (worker, seq) is taken once. Latency is a Prometheus histogram with fixed
// buckets, filled from the events' HDR histograms, so it sums across workers
// and endpoints as Prometheus histograms do.
package exporter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

// DefaultBuckets are the latency histogram's upper bounds in seconds: from
// half a millisecond (a fast target on a LAN) to a minute (the histograms'
// ceiling), about three per decade.
var DefaultBuckets = []float64{
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// DefaultRetain is how long an ended run's series stay on /metrics: long
// enough for a few scrapes to see its final values.
const DefaultRetain = 10 * time.Minute

// Config configures an Exporter. The zero value of each field means its default.
type Config struct {
	// RunID limits the exporter to one run; empty follows every run on the bus.
	RunID string
	// Listen is the HTTP address (HOST:PORT) that serves /metrics; empty serves
	// nothing (use Handler).
	Listen string
	// Buckets are the latency histogram's upper bounds in seconds, ascending;
	// default DefaultBuckets.
	Buckets []float64
	// Retain: how long an ended run's series stay; default DefaultRetain.
	Retain time.Duration
	// ProcessMetrics adds the Go runtime's and the process's own metrics.
	ProcessMetrics bool
	Logger         *slog.Logger
	// Now is the clock for retention (tests); default time.Now.
	Now func() time.Time
}

// Exporter follows runs on the bus and serves them as Prometheus metrics.
type Exporter struct {
	cfg  Config
	conn *bus.Conn
	log  *slog.Logger
	reg  *prometheus.Registry

	mu         sync.Mutex
	runs       map[string]*runState
	malformed  uint64
	duplicates uint64

	ready chan struct{}
	addr  string // set before ready is closed
}

// New returns an exporter reading from conn. It subscribes when Run starts.
func New(cfg Config, conn *bus.Conn) (*Exporter, error) {
	if conn == nil {
		return nil, errors.New("exporter: no bus connection")
	}
	if cfg.RunID != "" && !schemas.ValidToken(cfg.RunID) {
		return nil, fmt.Errorf("exporter: run id %q is not a valid subject token", cfg.RunID)
	}
	if cfg.Buckets == nil {
		cfg.Buckets = DefaultBuckets
	}
	for i, b := range cfg.Buckets {
		if b <= 0 || (i > 0 && b <= cfg.Buckets[i-1]) {
			return nil, fmt.Errorf("exporter: buckets must be positive and ascending, got %v", cfg.Buckets)
		}
	}
	cfg.Buckets = slices.Clone(cfg.Buckets)
	if cfg.Retain <= 0 {
		cfg.Retain = DefaultRetain
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Exporter{
		cfg: cfg, conn: conn, log: cfg.Logger.With("stage", "exporter"),
		reg:  prometheus.NewRegistry(),
		runs: map[string]*runState{}, ready: make(chan struct{}),
	}
	e.reg.MustRegister(e)
	if cfg.ProcessMetrics {
		e.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return e, nil
}

// Ready is closed once the exporter is subscribed (and listening, with Listen).
func (e *Exporter) Ready() <-chan struct{} { return e.ready }

// Addr is the address /metrics is served on, once Ready (Listen with port 0 picks one).
func (e *Exporter) Addr() string {
	<-e.ready
	return e.addr
}

// Handler serves the metrics in Prometheus's formats.
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// subjects the exporter reads, for run (a run id or * for every run).
func subjects(run string) map[string]string {
	root := schemas.SubjectRoot + "." + run + "."
	return map[string]string{
		"metrics":   root + schemas.KindMetrics + ".>",
		"state":     root + schemas.KindState,
		"threshold": root + schemas.KindThreshold,
		"assign":    root + schemas.KindAssign,
	}
}

// Run subscribes, serves /metrics when Listen is set, and returns when ctx
// ends (nil) or the HTTP server fails.
func (e *Exporter) Run(ctx context.Context) error {
	run := e.cfg.RunID
	if run == "" {
		run = "*"
	}
	subj := subjects(run)
	var subs []*bus.Subscription
	defer func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}()
	add := func(s *bus.Subscription, err error) error {
		if err != nil {
			return fmt.Errorf("exporter: %w", err)
		}
		subs = append(subs, s)
		return nil
	}
	if err := add(bus.Subscribe(e.conn, subj["metrics"], func(s string, m *schemas.MetricEvent) { e.onEvent(s, m) })); err != nil {
		return err
	}
	if err := add(bus.Subscribe(e.conn, subj["state"], func(s string, m *schemas.SessionState) { e.onState(s, m) })); err != nil {
		return err
	}
	if err := add(e.conn.SubscribeRaw(subj["threshold"], e.onThresholdRaw)); err != nil {
		return err
	}
	if err := add(bus.Subscribe(e.conn, subj["assign"], func(s string, m *schemas.WorkerAssignment) { e.onAssign(s, m) })); err != nil {
		return err
	}
	if err := e.conn.Flush(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("exporter: subscribe: %w", err)
	}

	if e.cfg.Listen == "" {
		close(e.ready)
		<-ctx.Done()
		return nil
	}
	ln, err := net.Listen("tcp", e.cfg.Listen)
	if err != nil {
		return fmt.Errorf("exporter: listen %s: %w", e.cfg.Listen, err)
	}
	e.addr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("/metrics", e.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><body><p>loadforge exporter: <a href="/metrics">/metrics</a></p></body></html>`)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	close(e.ready)
	select {
	case <-ctx.Done():
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutCtx)
		<-served
		return nil
	case err := <-served:
		return fmt.Errorf("exporter: serve %s: %w", e.addr, err)
	}
}

// runOf is the run token of a loadforge subject ("" when it is not one).
func runOf(subject string) string {
	rest, ok := strings.CutPrefix(subject, schemas.SubjectRoot+".")
	if !ok {
		return ""
	}
	run, _, _ := strings.Cut(rest, ".")
	return label(run)
}

// runFor returns the run a message of subject claims to belong to, or nil
// (and counts it malformed) when the message names another. e.mu is held.
func (e *Exporter) runFor(subject, runID string) *runState {
	id := runOf(subject)
	if id == "" || (runID != "" && runID != id) {
		e.malformed++
		return nil
	}
	r := e.runs[id]
	if r == nil {
		r = newRun(id)
		e.runs[id] = r
	}
	return r
}

func (e *Exporter) onEvent(subject string, ev *schemas.MetricEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ev.SchemaVersion != schemas.Version || !schemas.ValidToken(ev.WorkerID) || ev.Seq == 0 {
		e.malformed++
		return
	}
	r := e.runFor(subject, ev.RunID)
	if r == nil {
		return
	}
	if !r.addEvent(ev, e.cfg.Buckets) {
		e.duplicates++
	}
}

func (e *Exporter) onState(subject string, st *schemas.SessionState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if st.SchemaVersion != schemas.Version || st.State == "" {
		e.malformed++
		return
	}
	r := e.runFor(subject, st.RunID)
	if r == nil {
		return
	}
	r.state = label(st.State)
	if ended(st.State) && r.endedAt.IsZero() {
		r.endedAt = e.cfg.Now()
	}
}

// onThresholdRaw decodes a ThresholdState through schemas.DecodeAny:
// schemas.Decode does not take that type (it has no schema-version accessor);
// onThreshold checks the version.
func (e *Exporter) onThresholdRaw(subject string, data []byte) {
	var th schemas.ThresholdState
	if err := schemas.DecodeAny(data, &th); err != nil {
		e.mu.Lock()
		e.malformed++
		e.mu.Unlock()
		return
	}
	e.onThreshold(subject, &th)
}

func (e *Exporter) onThreshold(subject string, th *schemas.ThresholdState) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if th.SchemaVersion != schemas.Version || th.Metric == "" {
		e.malformed++
		return
	}
	r := e.runFor(subject, th.RunID)
	if r == nil {
		return
	}
	k := thresholdKey{label(th.Metric), label(th.Expression)}
	// Verdicts arrive in order from one publisher; an older one never replaces a newer.
	if old, ok := r.thresholds[k]; ok && old.AtNs > th.AtNs {
		return
	}
	r.thresholds[k] = *th
}

// onAssign stops counting the VUs of workers the session dropped: they will
// send no final event.
func (e *Exporter) onAssign(subject string, a *schemas.WorkerAssignment) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a.SchemaVersion != schemas.Version {
		e.malformed++
		return
	}
	r := e.runFor(subject, a.RunID)
	if r == nil {
		return
	}
	for _, id := range a.Lost {
		r.worker(id).gone = true
	}
}

var (
	labelsEP = []string{"run", "endpoint", "method"}
	descs    = struct {
		requests, errors, bytesIn, bytesOut, duration, checks *prometheus.Desc
		iterations, dropped, vus, workers, state              *prometheus.Desc
		thresholdOK, thresholdValue, malformed, duplicates    *prometheus.Desc
	}{
		requests: prometheus.NewDesc("loadforge_requests_total",
			"Requests sent that completed or failed, by response status (none: no response).",
			append(labelsEP, "status"), nil),
		errors: prometheus.NewDesc("loadforge_request_errors_total",
			"Failed requests (no response, or status >= 400), by error kind.",
			append(labelsEP, "kind"), nil),
		bytesIn: prometheus.NewDesc("loadforge_data_received_bytes_total",
			"Response bytes read (status line, headers and body).", labelsEP, nil),
		bytesOut: prometheus.NewDesc("loadforge_data_sent_bytes_total",
			"Request body bytes written.", labelsEP, nil),
		duration: prometheus.NewDesc("loadforge_request_duration_seconds",
			"Request latency (in an open model from the intended start: corrected for coordinated omission).",
			labelsEP, nil),
		checks: prometheus.NewDesc("loadforge_checks_total",
			"Scenario checks on responses, by check name and result (pass or fail).",
			append(labelsEP, "check", "result"), nil),
		iterations: prometheus.NewDesc("loadforge_iterations_total",
			"Iterations completed.", []string{"run"}, nil),
		dropped: prometheus.NewDesc("loadforge_dropped_iterations_total",
			"Iterations the schedule wanted but no VU could start (open model).", []string{"run"}, nil),
		vus: prometheus.NewDesc("loadforge_vus",
			"VUs running, over all workers.", []string{"run"}, nil),
		workers: prometheus.NewDesc("loadforge_workers",
			"Workers that reported and have not ended.", []string{"run"}, nil),
		state: prometheus.NewDesc("loadforge_run_state",
			"1 for the run's current state (starting, running, stopping, completed, interrupted, aborted).",
			[]string{"run", "state"}, nil),
		thresholdOK: prometheus.NewDesc("loadforge_threshold_ok",
			"1 while the threshold holds, 0 while it fails.", []string{"run", "metric", "expression"}, nil),
		thresholdValue: prometheus.NewDesc("loadforge_threshold_value",
			"The value the threshold's expression was last evaluated on.", []string{"run", "metric", "expression"}, nil),
		malformed: prometheus.NewDesc("loadforge_exporter_malformed_messages_total",
			"Messages the exporter dropped: undecodable, unknown schema version or inconsistent.", nil, nil),
		duplicates: prometheus.NewDesc("loadforge_exporter_duplicate_events_total",
			"Metric events received again for a (worker, seq) already counted, and ignored.", nil, nil),
	}
)

// Describe sends every metric the exporter may serve; label values follow
// the runs on the bus, the names and label names are fixed.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descs.requests, descs.errors, descs.bytesIn, descs.bytesOut, descs.duration, descs.checks,
		descs.iterations, descs.dropped, descs.vus, descs.workers, descs.state,
		descs.thresholdOK, descs.thresholdValue, descs.malformed, descs.duplicates,
	} {
		ch <- d
	}
}

// Collect writes every series of every run the exporter holds, and forgets
// runs that ended more than Retain ago.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.Now()
	for id, r := range e.runs {
		if !r.endedAt.IsZero() && now.Sub(r.endedAt) > e.cfg.Retain {
			delete(e.runs, id)
			continue
		}
		e.collectRun(ch, r)
	}
	ch <- prometheus.MustNewConstMetric(descs.malformed, prometheus.CounterValue, float64(e.malformed+e.conn.Malformed()))
	ch <- prometheus.MustNewConstMetric(descs.duplicates, prometheus.CounterValue, float64(e.duplicates))
}

func (e *Exporter) collectRun(ch chan<- prometheus.Metric, r *runState) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for k, ep := range r.endpoints {
		for status, n := range ep.status {
			counter(descs.requests, n, r.id, k.name, k.method, status)
		}
		for kind, n := range ep.kinds {
			counter(descs.errors, n, r.id, k.name, k.method, kind)
		}
		counter(descs.bytesIn, ep.bytesIn, r.id, k.name, k.method)
		counter(descs.bytesOut, ep.bytesOut, r.id, k.name, k.method)
		buckets := make(map[float64]uint64, len(e.cfg.Buckets))
		var cum uint64
		for i, b := range e.cfg.Buckets {
			cum += ep.hist[i]
			buckets[b] = cum
		}
		ch <- prometheus.MustNewConstHistogram(descs.duration, ep.count, ep.sumSec, buckets, r.id, k.name, k.method)
		for name, c := range ep.checks {
			counter(descs.checks, c.passes, r.id, k.name, k.method, name, "pass")
			counter(descs.checks, c.fails, r.id, k.name, k.method, name, "fail")
		}
	}
	counter(descs.iterations, r.iterations, r.id)
	counter(descs.dropped, r.dropped, r.id)
	gauge(descs.vus, float64(r.vus()), r.id)
	live := 0
	for _, w := range r.workers {
		if !w.gone {
			live++
		}
	}
	gauge(descs.workers, float64(live), r.id)
	if r.state != "" {
		gauge(descs.state, 1, r.id, r.state)
	}
	for k, th := range r.thresholds {
		ok := 0.0
		if th.OK {
			ok = 1
		}
		gauge(descs.thresholdOK, ok, r.id, k.metric, k.expression)
		gauge(descs.thresholdValue, th.Value, r.id, k.metric, k.expression)
	}
}
