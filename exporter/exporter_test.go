package exporter_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/loadforge/loadforge/exporter"
	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
	"github.com/loadforge/loadforge/session"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scrape fetches /metrics from addr and parses it with Prometheus's own text parser.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %s: %s", resp.Status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// sum adds the values of family name over the series whose labels match want.
func sum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var total float64
	f := fams[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.GetMetric() {
		for k, v := range want {
			if label(m, k) != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// startExporter runs an exporter on its own connection to url, serving on a free port.
func startExporter(t *testing.T, url string, cfg exporter.Config) *exporter.Exporter {
	t.Helper()
	conn, err := bus.Dial(url, "", "exporter-test")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = "127.0.0.1:0"
	ex, err := exporter.New(cfg, conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ex.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		_ = conn.Close(context.Background())
	})
	select {
	case <-ex.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	return ex
}

// target answers / with 200 and /missing with 404, and signals its 50th request.
type target struct {
	*httptest.Server
	hits  atomic.Uint64
	fifty chan struct{}
}

func newTarget(t *testing.T) *target {
	tg := &target{fifty: make(chan struct{})}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tg.hits.Add(1) == 50 {
			close(tg.fifty)
		}
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(tg.Close)
	return tg
}

func twoEndpoints(base string) schemas.RunSpec {
	return schemas.RunSpec{Scenario: schemas.Scenario{Tasks: []schemas.Task{{Name: "t", Weight: 1, Requests: []schemas.Request{
		{Name: "home", Method: http.MethodGet, URL: base + "/"},
		{Name: "missing", Method: http.MethodGet, URL: base + "/missing"},
	}}}}}
}

// TestExporterFollowsTwoRunsOnOneBus runs two loads on one listening bus
// while an exporter in its own connection follows them: each run is its own
// label set, and once the runs are over every counter equals its result.
func TestExporterFollowsTwoRunsOnOneBus(t *testing.T) {
	b, err := bus.Open(bus.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	url := b.ClientURL()
	ex := startExporter(t, url, exporter.Config{})
	tg := newTarget(t)

	runs := []string{"runa", "runb"}
	results := make([]*schemas.Result, len(runs))
	errs := make([]error, len(runs))
	var wg sync.WaitGroup
	for i, id := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = session.Run(context.Background(), session.Config{
				RunID: id, Name: id, Spec: twoEndpoints(tg.URL),
				Pattern:      pattern.Constant(2+i, 1500*time.Millisecond),
				GracefulStop: 2 * time.Second,
				Bus:          bus.Config{URL: url},
				Quiet:        true, Stdout: io.Discard, Stderr: io.Discard,
				Signals: make(chan os.Signal),
			})
		}()
	}
	// Mid-run: what the exporter shows so far never exceeds what the target saw.
	<-tg.fifty
	mid := scrape(t, ex.Addr())
	midTotal := sum(mid, "loadforge_requests_total", nil)
	wg.Wait()
	for i := range runs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
	}
	if seen := float64(tg.hits.Load()); midTotal > seen {
		t.Errorf("mid-run the exporter counted %v requests, the target had seen %v by the end", midTotal, seen)
	}

	// The exporter reads the bus on its own connection: wait until it has
	// every event of both runs (or give up after a generous while).
	var fams map[string]*dto.MetricFamily
	deadline := time.Now().Add(15 * time.Second)
	for {
		fams = scrape(t, ex.Addr())
		caught := true
		for i, id := range runs {
			caught = caught && sum(fams, "loadforge_requests_total", map[string]string{"run": id}) == float64(results[i].Totals.Requests)
		}
		if caught || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	var all float64
	for i, id := range runs {
		res := results[i]
		run := map[string]string{"run": id}
		if res.Totals.Requests == 0 || res.Totals.Errors == 0 {
			t.Fatalf("run %s: %d requests, %d errors: want both", id, res.Totals.Requests, res.Totals.Errors)
		}
		if got := sum(fams, "loadforge_requests_total", run); got != float64(res.Totals.Requests) {
			t.Errorf("run %s: requests_total %v, result %d", id, got, res.Totals.Requests)
		}
		all += float64(res.Totals.Requests)
		if got := sum(fams, "loadforge_request_errors_total", run); got != float64(res.Totals.Errors) {
			t.Errorf("run %s: request_errors_total %v, result %d", id, got, res.Totals.Errors)
		}
		for _, ep := range res.Endpoints {
			for code, n := range ep.StatusCodes {
				got := sum(fams, "loadforge_requests_total", map[string]string{"run": id, "endpoint": ep.Name, "method": ep.Method, "status": code})
				if got != float64(n) {
					t.Errorf("run %s %s status %s: %v, result %d", id, ep.Name, code, got, n)
				}
			}
			for kind, n := range ep.ErrorsByKind {
				got := sum(fams, "loadforge_request_errors_total", map[string]string{"run": id, "endpoint": ep.Name, "kind": kind})
				if got != float64(n) {
					t.Errorf("run %s %s errors %s: %v, result %d", id, ep.Name, kind, got, n)
				}
			}
			// Every request here got a response, so each has a latency.
			got := sum(fams, "loadforge_request_duration_seconds", map[string]string{"run": id, "endpoint": ep.Name})
			if got != float64(ep.Requests) {
				t.Errorf("run %s %s: histogram count %v, requests %d", id, ep.Name, got, ep.Requests)
			}
			if got := sum(fams, "loadforge_data_received_bytes_total", map[string]string{"run": id, "endpoint": ep.Name}); got != float64(ep.BytesIn) {
				t.Errorf("run %s %s: bytes in %v, result %d", id, ep.Name, got, ep.BytesIn)
			}
		}
		if got := sum(fams, "loadforge_iterations_total", run); got != float64(res.Totals.Iterations) {
			t.Errorf("run %s: iterations %v, result %d", id, got, res.Totals.Iterations)
		}
		if got := sum(fams, "loadforge_vus", run); got != 0 {
			t.Errorf("run %s: %v VUs after the end", id, got)
		}
		if got := sum(fams, "loadforge_run_state", map[string]string{"run": id, "state": schemas.StateCompleted}); got != 1 {
			t.Errorf("run %s: run_state completed = %v", id, got)
		}
		checkHistogram(t, fams, id, res)
	}
	if got := float64(tg.hits.Load()); got != all {
		t.Errorf("target saw %v requests, the exporter counted %v", got, all)
	}
	if got := sum(fams, "loadforge_exporter_duplicate_events_total", nil); got != 0 {
		t.Errorf("%v duplicate events on a clean bus", got)
	}
}

// checkHistogram holds the exporter's latency buckets against the result's
// percentiles: the share of requests at or under a bound above the p50 is at
// least a half, under a bound below it less than a half (bounds within the
// histograms' 0.1 % of the percentile say nothing).
func checkHistogram(t *testing.T, fams map[string]*dto.MetricFamily, run string, res *schemas.Result) {
	t.Helper()
	f := fams["loadforge_request_duration_seconds"]
	if f == nil {
		t.Fatal("no loadforge_request_duration_seconds")
	}
	counts := map[float64]uint64{}
	var total uint64
	for _, m := range f.GetMetric() {
		if label(m, "run") != run {
			continue
		}
		h := m.GetHistogram()
		total += h.GetSampleCount()
		for _, bk := range h.GetBucket() {
			counts[bk.GetUpperBound()] += bk.GetCumulativeCount()
		}
	}
	p50 := res.Totals.LatencyMs.P50 / 1000
	checked := 0
	for bound, n := range counts {
		share := float64(n) / float64(total)
		switch {
		case bound > p50*1.002:
			checked++
			if share < 0.5 {
				t.Errorf("run %s: %.3f of requests ≤ %gs, above the p50 %gs", run, share, bound, p50)
			}
		case bound < p50*0.998:
			checked++
			if share >= 0.5 {
				t.Errorf("run %s: %.3f of requests ≤ %gs, below the p50 %gs", run, share, bound, p50)
			}
		}
	}
	if checked == 0 {
		t.Errorf("run %s: no bucket to check", run)
	}
}

// TestExporterTakesEachEventOnce publishes events by hand: a duplicate, one
// out of order and one of another run; the counters take each (worker, seq)
// once and keep the runs apart.
func TestExporterTakesEachEventOnce(t *testing.T) {
	b, err := bus.Open(bus.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	ex := startExporter(t, b.ClientURL(), exporter.Config{})
	pub, err := b.Connect("publisher")
	if err != nil {
		t.Fatal(err)
	}
	event := func(run, worker string, seq uint64, status string, n uint64, final bool) {
		ev := &schemas.MetricEvent{
			SchemaVersion: schemas.Version, RunID: run, WorkerID: worker, Seq: seq, VUs: 3, Final: final,
			Endpoints: []schemas.EndpointMetrics{{
				Name: "home", Method: "GET", Requests: n, StatusCodes: map[string]uint64{status: n},
				LatencyUs: [][2]int64{{1500, int64(n)}},
				Checks:    []schemas.CheckCount{{Name: "is 200", Passes: n, Fails: 1}},
			}},
		}
		if err := pub.Publish(schemas.MetricsSubject(run, worker), ev); err != nil {
			t.Fatal(err)
		}
	}
	event("r1", "w1", 1, "200", 10, false)
	event("r1", "w1", 3, "200", 30, false) // before 2
	event("r1", "w1", 2, "200", 20, false)
	event("r1", "w1", 2, "200", 20, false) // again
	event("r1", "w2", 1, "500", 5, false)
	event("r2", "w1", 1, "200", 7, true)
	th := &schemas.ThresholdState{SchemaVersion: schemas.Version, RunID: "r1", AtNs: 1,
		Metric: "http_req_duration", Expression: "p(95)<500", OK: false, Value: 612}
	if err := pub.Publish(schemas.Subject("r1", schemas.KindThreshold), th); err != nil {
		t.Fatal(err)
	}
	st := &schemas.SessionState{SchemaVersion: schemas.Version, RunID: "r1", State: schemas.StateStopping}
	if err := pub.Publish(schemas.Subject("r1", schemas.KindState), st); err != nil {
		t.Fatal(err)
	}
	// Each subject is served in order but apart from the others, so each
	// gets its own last word: a sentinel run's event after the metric
	// events, the threshold and the state themselves.
	event("sentinel", "w1", 1, "200", 1, true)
	if err := pub.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var fams map[string]*dto.MetricFamily
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		fams = scrape(t, ex.Addr())
		if sum(fams, "loadforge_run_state", map[string]string{"run": "r1", "state": schemas.StateStopping}) == 1 &&
			sum(fams, "loadforge_requests_total", map[string]string{"run": "sentinel"}) == 1 &&
			sum(fams, "loadforge_threshold_value", map[string]string{"run": "r1"}) != 0 {
			break
		}
	}
	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"loadforge_requests_total", map[string]string{"run": "r1", "status": "200"}, 60},
		{"loadforge_requests_total", map[string]string{"run": "r1", "status": "500"}, 5},
		{"loadforge_requests_total", map[string]string{"run": "r2"}, 7},
		{"loadforge_request_duration_seconds", map[string]string{"run": "r1"}, 65},
		{"loadforge_checks_total", map[string]string{"run": "r1", "check": "is 200", "result": "pass"}, 65},
		{"loadforge_checks_total", map[string]string{"run": "r1", "check": "is 200", "result": "fail"}, 4},
		{"loadforge_vus", map[string]string{"run": "r1"}, 6},
		{"loadforge_vus", map[string]string{"run": "r2"}, 0},
		{"loadforge_threshold_ok", map[string]string{"run": "r1", "metric": "http_req_duration", "expression": "p(95)<500"}, 0},
		{"loadforge_threshold_value", map[string]string{"run": "r1"}, 612},
		{"loadforge_exporter_duplicate_events_total", nil, 1},
	}
	for _, w := range want {
		if got := sum(fams, w.name, w.labels); got != w.value {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.value)
		}
	}
	// Prometheus's pedantic registry holds every metric to its description.
	pedantic := prometheus.NewPedanticRegistry()
	pedantic.MustRegister(ex)
	if _, err := pedantic.Gather(); err != nil {
		t.Errorf("pedantic gather: %v", err)
	}
	// 1.5 ms falls in the bucket of 2.5 ms, not in that of 1 ms.
	for _, m := range fams["loadforge_request_duration_seconds"].GetMetric() {
		if label(m, "run") != "r1" {
			continue
		}
		for _, bk := range m.GetHistogram().GetBucket() {
			ub, n := bk.GetUpperBound(), bk.GetCumulativeCount()
			if (ub < 0.0015 && n != 0) || (ub >= 0.0025 && n != 65) {
				t.Errorf("bucket le=%s holds %d", strconv.FormatFloat(ub, 'g', -1, 64), n)
			}
		}
	}
}

func TestExporterForgetsEndedRunsAfterRetain(t *testing.T) {
	b, err := bus.Open(bus.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	ex := startExporter(t, b.ClientURL(), exporter.Config{
		Retain: time.Minute, Now: func() time.Time { return time.Unix(0, now.Load()) },
	})
	pub, err := b.Connect("publisher")
	if err != nil {
		t.Fatal(err)
	}
	st := &schemas.SessionState{SchemaVersion: schemas.Version, RunID: "old", State: schemas.StateCompleted}
	if err := pub.Publish(schemas.Subject("old", schemas.KindState), st); err != nil {
		t.Fatal(err)
	}
	var fams map[string]*dto.MetricFamily
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if fams = scrape(t, ex.Addr()); sum(fams, "loadforge_run_state", map[string]string{"run": "old"}) == 1 {
			break
		}
	}
	if sum(fams, "loadforge_run_state", map[string]string{"run": "old"}) != 1 {
		t.Fatal("the ended run never showed")
	}
	now.Add(int64(2 * time.Minute))
	if got := sum(scrape(t, ex.Addr()), "loadforge_run_state", map[string]string{"run": "old"}); got != 0 {
		t.Errorf("run still shown %v after its retention", got)
	}
}
