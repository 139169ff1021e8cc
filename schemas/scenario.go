package schemas

// RunSpec is what a worker needs to run its VUs: the scenario and the per-VU
// settings. It is plain data so that it can travel on the bus to remote workers.
type RunSpec struct {
	SchemaVersion int      `msgpack:"schema_version" json:"schema_version"`
	RunID         string   `msgpack:"run_id" json:"run_id"`
	Scenario      Scenario `msgpack:"scenario" json:"scenario"`
	// ThinkMinNs..ThinkMaxNs: think time after each iteration, uniform in the range.
	ThinkMinNs int64 `msgpack:"think_min_ns" json:"think_min_ns"`
	ThinkMaxNs int64 `msgpack:"think_max_ns" json:"think_max_ns"`
	// TimeoutNs is the per-request timeout (0: DefaultTimeout, 10 s).
	TimeoutNs int64 `msgpack:"timeout_ns" json:"timeout_ns"`
	// RPSLimit caps requests per second over all VUs (0: no cap).
	RPSLimit float64 `msgpack:"rps_limit" json:"rps_limit"`
	// HTTPClient picks the HTTP client: HTTPClientAuto or empty (the fast
	// client wherever HTTP/1.1 is spoken, net/http for HTTP/2),
	// HTTPClientFast (the fast client for every request; a plan that needs
	// HTTP/2 is refused) or HTTPClientNetHTTP (net/http for everything).
	HTTPClient string `msgpack:"http_client" json:"http_client,omitempty"`
	// HTTPVersion picks the protocol: HTTPVersionAuto or empty (what ALPN
	// agrees over TLS, HTTP/1.1 over plain http), HTTPVersion11 or
	// HTTPVersion2 (over plain http: h2c with prior knowledge).
	HTTPVersion string `msgpack:"http_version,omitempty" json:"http_version,omitempty"`
	// NoKeepAlive opens a new connection (and TLS session) for every request.
	NoKeepAlive bool `msgpack:"no_keepalive,omitempty" json:"no_keepalive,omitempty"`
	// TLS is how the worker connects to https:// targets; nil: the defaults.
	TLS *TargetTLS `msgpack:"tls,omitempty" json:"tls,omitempty"`

	// Vars are the plan's run-wide values, usable in any template as {{ .NAME }}.
	Vars [][2]string `msgpack:"vars,omitempty" json:"vars,omitempty"`
	// Data are the plan's data sets, their rows inside the spec: a worker
	// reads them once and its VUs share them.
	Data []DataSet `msgpack:"data,omitempty" json:"data,omitempty"`
	// Cookies gives each VU its own cookie jar (the plan's default: on).
	Cookies bool `msgpack:"cookies,omitempty" json:"cookies,omitempty"`
	// Iterations, when above 0, is how many iterations the run makes over all
	// VUs and workers (shared iterations); each worker makes its share, then
	// reports itself done (MetricEvent.Done).
	Iterations int64 `msgpack:"iterations,omitempty" json:"iterations,omitempty"`

	// PeakVUs is the most VUs the run may have at once over all its workers
	// (closed model: the highest stage target; open model: the larger of
	// max_vus and pre_allocated_vus; external load: max_vus); 0: not given.
	// Workers is how many remote workers the run spreads them over (0: not
	// given). A remote worker checks the largest share, PeakVUs/Workers
	// rounded up, against its open-file limit before it joins.
	PeakVUs int `msgpack:"peak_vus,omitempty" json:"peak_vus,omitempty"`
	Workers int `msgpack:"workers,omitempty" json:"workers,omitempty"`
}

// DataSet is a named table of test data: {{ .NAME.COLUMN }} in templates is
// the current row's COLUMN.
type DataSet struct {
	Name     string     `msgpack:"name" json:"name"`
	Pick     string     `msgpack:"pick" json:"pick"`           // PickPerVU, PickPerIteration or PickRandom
	WhenDone string     `msgpack:"when_done" json:"when_done"` // WhenDoneCycle or WhenDoneStop
	Columns  []string   `msgpack:"columns" json:"columns"`
	Rows     [][]string `msgpack:"rows" json:"rows"` // each as long as Columns
}

// How a data set's rows are picked, and what happens when they run out.
const (
	PickPerVU        = "per_vu"
	PickPerIteration = "per_iteration"
	PickRandom       = "random"
	WhenDoneCycle    = "cycle"
	WhenDoneStop     = "stop"
)

// Extract takes a value out of a response into the VU's variable Name.
type Extract struct {
	Name string `msgpack:"name" json:"name"`
	From string `msgpack:"from" json:"from"` // json (a gjson path), header, regex (first group) or cookie
	Expr string `msgpack:"expr" json:"expr"`
}

// Check is one check on a response; Kind says which fields apply.
type Check struct {
	// Name names it in results; empty: one written from what it checks.
	Name string `msgpack:"name,omitempty" json:"name,omitempty"`
	// Kind is status, json, body_contains, header or latency_under.
	Kind   string `msgpack:"kind" json:"kind"`
	Status []int  `msgpack:"status,omitempty" json:"status,omitempty"` // status: any of these
	// Path is the gjson path (json) or the header name (header).
	Path string `msgpack:"path,omitempty" json:"path,omitempty"`
	// Op is the json comparison: equals, not_equals, contains, matches,
	// exists, gt, gte, lt or lte.
	Op string `msgpack:"op,omitempty" json:"op,omitempty"`
	// Value is what Op compares with (a template for equals, not_equals and
	// contains; "true"/"false" for exists), the text of body_contains, or
	// what a header must contain.
	Value          string `msgpack:"value,omitempty" json:"value,omitempty"`
	LatencyUnderNs int64  `msgpack:"latency_under_ns,omitempty" json:"latency_under_ns,omitempty"`
}

// HTTP versions: the values of RunSpec.HTTPVersion.
const (
	HTTPVersionAuto = "auto"
	HTTPVersion11   = "1.1"
	HTTPVersion2    = "2"
)

// ValidHTTPVersion reports whether s is a value RunSpec.HTTPVersion may take.
func ValidHTTPVersion(s string) bool {
	return s == "" || s == HTTPVersionAuto || s == HTTPVersion11 || s == HTTPVersion2
}

// Protocol names as results and events give them.
const (
	ProtocolHTTP11 = "HTTP/1.1"
	ProtocolHTTP2  = "HTTP/2.0"
)

// MaxTLSFileBytes bounds each certificate or key file a spec carries.
const MaxTLSFileBytes = 256 << 10

// TargetTLS is the TLS configuration of the target's connections. The PEM
// files travel inside the spec, so that remote workers get them too.
type TargetTLS struct {
	// Insecure skips the verification of the server's certificate.
	Insecure bool `msgpack:"insecure,omitempty" json:"insecure,omitempty"`
	// CAPEM holds certificates trusted in addition to the system roots.
	CAPEM []byte `msgpack:"ca_pem,omitempty" json:"ca_pem,omitempty"`
	// CertPEM and KeyPEM are the client certificate (mTLS) and its key.
	CertPEM []byte `msgpack:"cert_pem,omitempty" json:"cert_pem,omitempty"`
	KeyPEM  []byte `msgpack:"key_pem,omitempty" json:"key_pem,omitempty"`
	// ServerName is sent in SNI and verified; empty: each URL's host.
	ServerName string `msgpack:"server_name,omitempty" json:"server_name,omitempty"`
	// MinVersion is "1.2" or "1.3"; empty: 1.2.
	MinVersion string `msgpack:"min_version,omitempty" json:"min_version,omitempty"`
}

// HTTP clients: the values of RunSpec.HTTPClient, and the names events and
// results give the client that sent an endpoint's requests.
const (
	HTTPClientAuto = "auto"
	// HTTPClientFast is loadforge's own HTTP/1.1 client, for http:// and https://:
	// one kept-alive connection per VU and address, each request's bytes
	// built once, responses read with a reused buffer, bodies thrown away.
	HTTPClientFast = "fast"
	// HTTPClientNetHTTP is Go's net/http (and its HTTP/2): what the fast client does not speak.
	HTTPClientNetHTTP = "net/http"
)

// Scenario is what each VU runs: setup once, then tasks picked by weight until
// told to stop, then teardown once.
type Scenario struct {
	Setup    []Request `msgpack:"setup" json:"setup"`
	Tasks    []Task    `msgpack:"tasks" json:"tasks"`
	Teardown []Request `msgpack:"teardown" json:"teardown"`
}

// Requests lists every request of the scenario in order: setup, each task's,
// teardown. The list is new; each request's headers and body are s's.
func (s Scenario) Requests() []Request {
	qs := append([]Request{}, s.Setup...)
	for _, t := range s.Tasks {
		qs = append(qs, t.Requests...)
	}
	return append(qs, s.Teardown...)
}

// Task is one iteration's work: its requests in order.
type Task struct {
	Name     string    `msgpack:"name" json:"name"`
	Weight   int       `msgpack:"weight" json:"weight"`
	Requests []Request `msgpack:"requests" json:"requests"`
}

// Request is one HTTP request. Its Name is the endpoint it is counted under.
type Request struct {
	Name    string      `msgpack:"name" json:"name"`
	Method  string      `msgpack:"method" json:"method"`
	URL     string      `msgpack:"url" json:"url"`
	Headers [][2]string `msgpack:"headers" json:"headers"`
	Body    []byte      `msgpack:"body" json:"body"`

	// Scenario requests: any text of URL, Query, Headers, Body and JSON may
	// be a Go text/template over the VU's variables (see schemas/README.md).
	// Query pairs are URL-encoded and added to the URL.
	Query [][2]string `msgpack:"query,omitempty" json:"query,omitempty"`
	// JSON is a JSON document sent as the body with Content-Type
	// application/json; its string values may be templates.
	JSON string `msgpack:"json,omitempty" json:"json,omitempty"`
	// TimeoutNs overrides the run's timeout for this request (0: the run's).
	TimeoutNs int64     `msgpack:"timeout_ns,omitempty" json:"timeout_ns,omitempty"`
	Extract   []Extract `msgpack:"extract,omitempty" json:"extract,omitempty"`
	Checks    []Check   `msgpack:"checks,omitempty" json:"checks,omitempty"`
}

// ValidHTTPClient reports whether s is a value RunSpec.HTTPClient may take.
func ValidHTTPClient(s string) bool {
	return s == "" || s == HTTPClientAuto || s == HTTPClientFast || s == HTTPClientNetHTTP
}
