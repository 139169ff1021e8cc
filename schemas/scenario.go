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
	// TimeoutNs is the per-request timeout (0: the default, 10 s).
	TimeoutNs int64 `msgpack:"timeout_ns" json:"timeout_ns"`
	// RPSLimit caps requests per second over all VUs (0: no cap).
	RPSLimit float64 `msgpack:"rps_limit" json:"rps_limit"`
	// HTTPClient picks the HTTP client: HTTPClientAuto or empty (the fast
	// client for http:// URLs, net/http for https://), HTTPClientFast (the
	// fast client for every request; a plan with https:// URLs is refused) or
	// HTTPClientNetHTTP (net/http for everything).
	HTTPClient string `msgpack:"http_client" json:"http_client,omitempty"`
}

// HTTP clients: the values of RunSpec.HTTPClient, and the names events and
// results give the client that sent an endpoint's requests.
const (
	HTTPClientAuto = "auto"
	// HTTPClientFast is loadforge's own HTTP/1.1 client, for plain http://:
	// one kept-alive connection per VU and address, each request's bytes
	// built once, responses read with a reused buffer, bodies thrown away.
	HTTPClientFast = "fast"
	// HTTPClientNetHTTP is Go's net/http: https://, HTTP/2 where offered.
	HTTPClientNetHTTP = "net/http"
)

// Scenario is what each VU runs: setup once, then tasks picked by weight until
// told to stop, then teardown once.
type Scenario struct {
	Setup    []Request `msgpack:"setup" json:"setup"`
	Tasks    []Task    `msgpack:"tasks" json:"tasks"`
	Teardown []Request `msgpack:"teardown" json:"teardown"`
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
}

// ValidHTTPClient reports whether s is a value RunSpec.HTTPClient may take.
func ValidHTTPClient(s string) bool {
	return s == "" || s == HTTPClientAuto || s == HTTPClientFast || s == HTTPClientNetHTTP
}
