package schemas

// ResultVersion is the version of the result document (schema_version in --out).
const ResultVersion = 1

// LatencyMs summarises a latency histogram in milliseconds.
type LatencyMs struct {
	Min  float64 `msgpack:"min" json:"min"`
	Mean float64 `msgpack:"mean" json:"mean"`
	P50  float64 `msgpack:"p50" json:"p50"`
	P90  float64 `msgpack:"p90" json:"p90"`
	P95  float64 `msgpack:"p95" json:"p95"`
	P99  float64 `msgpack:"p99" json:"p99"`
	P999 float64 `msgpack:"p999" json:"p999"`
	Max  float64 `msgpack:"max" json:"max"`
}

// Result is the final result: the document written by --out and published once
// by the collector on loadforge.<run>.result.
type Result struct {
	SchemaVersion int              `msgpack:"schema_version" json:"schema_version"`
	RunID         string           `msgpack:"run_id" json:"run_id"`
	Name          string           `msgpack:"name" json:"name"`
	State         string           `msgpack:"state" json:"state"`
	StartedAt     string           `msgpack:"started_at" json:"started_at"`
	EndedAt       string           `msgpack:"ended_at" json:"ended_at"`
	DurationS     float64          `msgpack:"duration_s" json:"duration_s"`
	Totals        Totals           `msgpack:"totals" json:"totals"`
	Endpoints     []EndpointResult `msgpack:"endpoints" json:"endpoints"`
	Timeline      []TimelineRow    `msgpack:"timeline" json:"timeline"`
	Workers       []WorkerResult   `msgpack:"workers" json:"workers"`
	// MalformedMessages counts bus messages the collector could not decode and dropped.
	MalformedMessages uint64 `msgpack:"malformed_messages" json:"malformed_messages"`
	// HTTPClient names the HTTP client(s) the endpoints were sent with: "fast",
	// "net/http", or both joined by "+" when the endpoints differ.
	HTTPClient string `msgpack:"http_client" json:"http_client,omitempty"`
	// Warnings are what a reader of the figures must know, for people: that
	// the generator fell behind its schedule, with the figure.
	Warnings []string `msgpack:"warnings,omitempty" json:"warnings,omitempty"`
	// Checks sums every check of the scenario over the run (absent: no checks).
	Checks *CheckTotals `msgpack:"checks,omitempty" json:"checks,omitempty"`
	// Thresholds holds one verdict per threshold expression of the plan.
	Thresholds []ThresholdResult `msgpack:"thresholds,omitempty" json:"thresholds,omitempty"`
	// AbortReason says which threshold (or what else) aborted the run; state is then "aborted".
	AbortReason string `msgpack:"abort_reason,omitempty" json:"abort_reason,omitempty"`
	// Protocol names the HTTP protocol(s) the endpoints spoke: "HTTP/1.1",
	// "HTTP/2.0", or both joined by "+" when the endpoints differ.
	Protocol string `msgpack:"protocol,omitempty" json:"protocol,omitempty"`
	// Plan is the plan file the run was started from (absent: flags only);
	// Load describes its load for people, e.g. "10 VUs for 30s". The session
	// sets both; the result on the bus lacks them.
	Plan string `msgpack:"plan,omitempty" json:"plan,omitempty"`
	Load string `msgpack:"load,omitempty" json:"load,omitempty"`
	// EndpointsEvery, when above 1, says that the timeline's per-endpoint
	// breakdown was merged k seconds at a time to keep the result within the
	// bus's message limit: only every k-th row (and the last) carries it, for
	// the seconds since the previous one. Absent: every row carries its own.
	EndpointsEvery int `msgpack:"timeline_endpoints_every,omitempty" json:"timeline_endpoints_every,omitempty"`
}

// LatencyMoreMs holds the latency percentiles Locust reports that LatencyMs
// lacks (66, 75, 80, 98 and 99.99), in ms, from the same histogram.
type LatencyMoreMs struct {
	P66   float64 `msgpack:"p66" json:"p66"`
	P75   float64 `msgpack:"p75" json:"p75"`
	P80   float64 `msgpack:"p80" json:"p80"`
	P98   float64 `msgpack:"p98" json:"p98"`
	P9999 float64 `msgpack:"p9999" json:"p9999"`
}

// Spectrum is a latency distribution as [percentile, ms] points, percentile
// ascending from 0 to 100, spaced evenly on a log(1/(1-p)) axis (HdrHistogram's
// percentile distribution, 5 points per halving of 1-p): enough for a
// wrk2-style percentile plot.
type Spectrum struct {
	LatencyMs     [][2]float64 `msgpack:"latency_ms" json:"latency_ms"`
	ServiceTimeMs [][2]float64 `msgpack:"service_time_ms" json:"service_time_ms"`
}

// ThresholdResult is one threshold expression's verdict at the end of the run.
type ThresholdResult struct {
	// Metric is the metric with its tags as written, e.g. http_req_duration{endpoint:login}.
	Metric     string `msgpack:"metric" json:"metric"`
	Expression string `msgpack:"expression" json:"expression"`
	OK         bool   `msgpack:"ok" json:"ok"`
	// Value is the observed value the expression was evaluated on (ms for durations).
	Value       float64 `msgpack:"value" json:"value"`
	AbortOnFail bool    `msgpack:"abort_on_fail" json:"abort_on_fail"`
	Aborted     bool    `msgpack:"aborted" json:"aborted"`
}

// CheckTotals counts check results.
type CheckTotals struct {
	Passes uint64 `msgpack:"passes" json:"passes"`
	Fails  uint64 `msgpack:"fails" json:"fails"`
}

// TimingsMs is the timing breakdown of requests with a response, in ms (k6's
// http_req_connecting, _tls_handshaking, _waiting and _receiving). Connecting
// and TLSHandshaking cover only the requests that opened a connection.
type TimingsMs struct {
	Connecting     LatencyMs `msgpack:"connecting" json:"connecting"`
	TLSHandshaking LatencyMs `msgpack:"tls_handshaking" json:"tls_handshaking"`
	Waiting        LatencyMs `msgpack:"waiting" json:"waiting"`
	Receiving      LatencyMs `msgpack:"receiving" json:"receiving"`
	// NewConnections counts the requests that opened a connection.
	NewConnections uint64 `msgpack:"new_connections" json:"new_connections"`
}

// Totals sums the whole run over every endpoint and worker.
type Totals struct {
	Requests          uint64            `msgpack:"requests" json:"requests"`
	Errors            uint64            `msgpack:"errors" json:"errors"`
	RPS               float64           `msgpack:"rps" json:"rps"`
	BytesIn           uint64            `msgpack:"bytes_in" json:"bytes_in"`
	BytesOut          uint64            `msgpack:"bytes_out" json:"bytes_out"`
	Iterations        uint64            `msgpack:"iterations" json:"iterations"`
	DroppedIterations uint64            `msgpack:"dropped_iterations" json:"dropped_iterations"`
	LatencyMs         LatencyMs         `msgpack:"latency_ms" json:"latency_ms"`
	StatusCodes       map[string]uint64 `msgpack:"status_codes" json:"status_codes"`
	ErrorsByKind      map[string]uint64 `msgpack:"errors_by_kind" json:"errors_by_kind"`
	// LatencyOkMs is the latency of the successful requests alone; LatencyMs
	// covers every request with a latency, failed ones included (k6's http_req_duration).
	LatencyOkMs LatencyMs `msgpack:"latency_ok_ms" json:"latency_ok_ms"`
	// ServiceTimeMs is latency from the actual send. In an open model
	// LatencyMs runs from each iteration's intended start (wrk2's corrected
	// latency) and this is the uncorrected figure; in a closed model the two are equal.
	ServiceTimeMs LatencyMs `msgpack:"service_time_ms" json:"service_time_ms"`
	TimingsMs     TimingsMs `msgpack:"timings_ms" json:"timings_ms"`
	// ScheduleLagMs (open model only) is how late arrivals were handed to a
	// VU: actual dispatch − intended time.
	ScheduleLagMs *LatencyMs `msgpack:"schedule_lag_ms,omitempty" json:"schedule_lag_ms,omitempty"`
	// LatencyMoreMs and Spectrum: more of the latency distribution (Locust's
	// percentiles; the percentile spectrum of latency and service time).
	LatencyMoreMs LatencyMoreMs `msgpack:"latency_more_ms" json:"latency_more_ms"`
	Spectrum      *Spectrum     `msgpack:"spectrum,omitempty" json:"spectrum,omitempty"`
	// NotSent counts, by cause ("fds", "ports", "memory"), the requests the
	// generator could not attempt for lack of its own resources: not in
	// Requests, and a warning says so. Absent when none.
	NotSent map[string]uint64 `msgpack:"not_sent,omitempty" json:"not_sent,omitempty"`
	// Retries counts the requests that were resends of an earlier attempt
	// whose connection died under it; each attempt is in Requests.
	Retries uint64 `msgpack:"retries" json:"retries"`
}

// EndpointResult is one endpoint (a named request of the scenario) over the run.
type EndpointResult struct {
	Name         string            `msgpack:"name" json:"name"`
	Method       string            `msgpack:"method" json:"method"`
	URL          string            `msgpack:"url" json:"url"`
	Requests     uint64            `msgpack:"requests" json:"requests"`
	Errors       uint64            `msgpack:"errors" json:"errors"`
	RPS          float64           `msgpack:"rps" json:"rps"`
	BytesIn      uint64            `msgpack:"bytes_in" json:"bytes_in"`
	BytesOut     uint64            `msgpack:"bytes_out" json:"bytes_out"`
	LatencyMs    LatencyMs         `msgpack:"latency_ms" json:"latency_ms"`
	StatusCodes  map[string]uint64 `msgpack:"status_codes" json:"status_codes"`
	ErrorsByKind map[string]uint64 `msgpack:"errors_by_kind" json:"errors_by_kind"`
	// Retries: as Totals.Retries, for the endpoint.
	Retries uint64 `msgpack:"retries,omitempty" json:"retries,omitempty"`
	// HTTPClient names the client that sent the endpoint's requests ("fast" or "net/http").
	HTTPClient string `msgpack:"http_client" json:"http_client,omitempty"`
	// LatencyOkMs, ServiceTimeMs and TimingsMs: as in Totals, for this endpoint.
	LatencyOkMs   LatencyMs `msgpack:"latency_ok_ms" json:"latency_ok_ms"`
	ServiceTimeMs LatencyMs `msgpack:"service_time_ms" json:"service_time_ms"`
	TimingsMs     TimingsMs `msgpack:"timings_ms" json:"timings_ms"`
	// Checks lists each named check on this endpoint's responses.
	Checks []CheckCount `msgpack:"checks,omitempty" json:"checks,omitempty"`
	// Protocol is the HTTP protocol the endpoint's responses came in ("HTTP/1.1", "HTTP/2.0", or both joined by "+").
	Protocol string `msgpack:"protocol,omitempty" json:"protocol,omitempty"`
	// LatencyMoreMs and Spectrum: as in Totals, for this endpoint.
	LatencyMoreMs LatencyMoreMs `msgpack:"latency_more_ms" json:"latency_more_ms"`
	Spectrum      *Spectrum     `msgpack:"spectrum,omitempty" json:"spectrum,omitempty"`
	// TLSError is why the endpoint's TLS connections failed (the first
	// failure seen, with a hint), when any did.
	TLSError string `msgpack:"tls_error,omitempty" json:"tls_error,omitempty"`
}

// TimelineRow is one second of the run; its counts are for that second alone.
type TimelineRow struct {
	TS                float64   `msgpack:"t_s" json:"t_s"`
	VUs               int       `msgpack:"vus" json:"vus"`
	Requests          uint64    `msgpack:"requests" json:"requests"`
	Errors            uint64    `msgpack:"errors" json:"errors"`
	DroppedIterations uint64    `msgpack:"dropped_iterations" json:"dropped_iterations"`
	RPS               float64   `msgpack:"rps" json:"rps"`
	LatencyMs         LatencyMs `msgpack:"latency_ms" json:"latency_ms"`
	// Endpoints breaks the second down by endpoint (only endpoints with requests in it).
	Endpoints []TimelineEndpoint `msgpack:"endpoints,omitempty" json:"endpoints,omitempty"`
	BytesIn   uint64             `msgpack:"bytes_in" json:"bytes_in"`
	BytesOut  uint64             `msgpack:"bytes_out" json:"bytes_out"`
	// LatencyMoreMs: Locust's other percentiles of this second.
	LatencyMoreMs LatencyMoreMs `msgpack:"latency_more_ms" json:"latency_more_ms"`
	// CumP50Ms is the median latency from the run's start through this second
	// (Locust's "Total Median Response Time").
	CumP50Ms float64 `msgpack:"cum_p50_ms" json:"cum_p50_ms"`
}

// TimelineEndpoint is one endpoint's share of a timeline second.
type TimelineEndpoint struct {
	Name      string    `msgpack:"name" json:"name"`
	Method    string    `msgpack:"method" json:"method"`
	URL       string    `msgpack:"url" json:"url"`
	Requests  uint64    `msgpack:"requests" json:"requests"`
	Errors    uint64    `msgpack:"errors" json:"errors"`
	LatencyMs LatencyMs `msgpack:"latency_ms" json:"latency_ms"`
	BytesIn   uint64    `msgpack:"bytes_in" json:"bytes_in"`
	// LatencyMoreMs and CumP50Ms: as in TimelineRow, for this endpoint.
	LatencyMoreMs LatencyMoreMs `msgpack:"latency_more_ms" json:"latency_more_ms"`
	CumP50Ms      float64       `msgpack:"cum_p50_ms" json:"cum_p50_ms"`
}

// WorkerResult is one worker's share of the run.
type WorkerResult struct {
	ID       string `msgpack:"id" json:"id"`
	Name     string `msgpack:"name" json:"name"`
	Requests uint64 `msgpack:"requests" json:"requests"`
	Errors   uint64 `msgpack:"errors" json:"errors"`
	Lost     bool   `msgpack:"lost" json:"lost"`
}
