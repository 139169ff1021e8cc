package schemas

// Every message below is encoded as a msgpack map keyed by the msgpack tag.
// Times on the bus are Unix nanoseconds (int64); durations are nanoseconds.

// Session states, in lifecycle order. A run ends in exactly one of the last three.
const (
	StateStarting    = "starting"
	StateRunning     = "running"
	StateStopping    = "stopping"
	StateCompleted   = "completed"
	StateInterrupted = "interrupted"
	StateAborted     = "aborted"
)

// SessionState is published by the session on loadforge.<run>.state at each transition.
type SessionState struct {
	SchemaVersion int    `msgpack:"schema_version" json:"schema_version"`
	RunID         string `msgpack:"run_id" json:"run_id"`
	State         string `msgpack:"state" json:"state"`
	AtNs          int64  `msgpack:"at_ns" json:"at_ns"`
	// StartedAtNs is the run's time zero: snapshots count seconds from it and
	// workers align their metric intervals to it.
	StartedAtNs int64 `msgpack:"started_at_ns" json:"started_at_ns"`
	// GracefulStopNs (with state stopping): how long in-flight iterations may run on.
	GracefulStopNs int64 `msgpack:"graceful_stop_ns" json:"graceful_stop_ns"`
	// Hard (with state stopping): stop at once, cancelling in-flight requests.
	Hard bool `msgpack:"hard" json:"hard"`
	// Outcome (with state stopping): the state the run will end in, one of
	// completed, interrupted or aborted. The collector writes it into the result.
	Outcome string `msgpack:"outcome,omitempty" json:"outcome,omitempty"`
	// Reason says why the run stops, for people: "end of load pattern", "signal interrupt", …
	Reason string `msgpack:"reason,omitempty" json:"reason,omitempty"`
}

// ScaleCommand is published by the scheduler on loadforge.<run>.scale whenever the
// target changes. Workers apply the newest by Seq and ignore older ones.
type ScaleCommand struct {
	SchemaVersion int    `msgpack:"schema_version" json:"schema_version"`
	RunID         string `msgpack:"run_id" json:"run_id"`
	Seq           uint64 `msgpack:"seq" json:"seq"`
	// AtNs is when the target applies (the plan's time, not the publish time).
	AtNs      int64 `msgpack:"at_ns" json:"at_ns"`
	ElapsedNs int64 `msgpack:"elapsed_ns" json:"elapsed_ns"`
	// TargetVUs is the number of VUs that should be running, over all workers.
	TargetVUs int `msgpack:"target_vus" json:"target_vus"`
	// Done marks the last command: the load pattern has ended.
	Done bool `msgpack:"done" json:"done"`
	// EndNs is when the load pattern ends (t0 + its duration). Under an
	// --rps-limit no request may start at or after it. 0: not given.
	EndNs int64 `msgpack:"end_ns,omitempty" json:"end_ns,omitempty"`
	// Arrivals, set in every command of an open-model run, is the whole
	// arrival-rate pattern: each worker derives every arrival's intended time
	// from it and t0 alone. TargetVUs is then the pool's pre-allocated size.
	Arrivals *ArrivalRate `msgpack:"arrivals,omitempty" json:"arrivals,omitempty"`
	// Rate is the open model's arrival rate (per second) at ElapsedNs, for people.
	Rate float64 `msgpack:"rate,omitempty" json:"rate,omitempty"`
}

// ArrivalRate is an open-model load pattern: iterations start at a rate that
// follows Stages whatever the responses do, each on a free VU; the pool grows
// up to MaxVUs, and an arrival that finds no free VU then is dropped.
//
// The rate r(t) goes linearly, stage by stage, from the previous stage's rate
// (0 before the first) to the stage's Rate over its duration. With N(t) the
// integral of r from 0 to t, arrival i (from 0) is due at t0 + inf{t : N(t) > i}:
// a constant rate R puts arrival i at t0 + i/R.
type ArrivalRate struct {
	Stages          []RateStage `msgpack:"stages" json:"stages"`
	MaxVUs          int         `msgpack:"max_vus" json:"max_vus"`
	PreAllocatedVUs int         `msgpack:"pre_allocated_vus" json:"pre_allocated_vus"`
}

// RateStage moves the arrival rate linearly to Rate (per second) over DurationNs.
type RateStage struct {
	DurationNs int64   `msgpack:"duration_ns" json:"duration_ns"`
	Rate       float64 `msgpack:"rate" json:"rate"`
}

// WorkerHello is published once by a worker when it joins a run.
type WorkerHello struct {
	SchemaVersion int    `msgpack:"schema_version" json:"schema_version"`
	RunID         string `msgpack:"run_id" json:"run_id"`
	WorkerID      string `msgpack:"worker_id" json:"worker_id"`
	Name          string `msgpack:"name" json:"name"`
	Host          string `msgpack:"host" json:"host"`
	PID           int    `msgpack:"pid" json:"pid"`
	AtNs          int64  `msgpack:"at_ns" json:"at_ns"`
	// Refused, set in a join, says why the worker will not carry the run
	// (its open-file limit cannot hold its share of the VUs): the session
	// admits it not and aborts the run, naming the worker and the reason.
	Refused string `msgpack:"refused,omitempty" json:"refused,omitempty"`
}

// WorkerHeartbeat is published by each worker every second while it is in a run.
type WorkerHeartbeat struct {
	SchemaVersion int    `msgpack:"schema_version" json:"schema_version"`
	RunID         string `msgpack:"run_id" json:"run_id"`
	WorkerID      string `msgpack:"worker_id" json:"worker_id"`
	AtNs          int64  `msgpack:"at_ns" json:"at_ns"`
	VUs           int    `msgpack:"vus" json:"vus"`
	LastSeq       uint64 `msgpack:"last_seq" json:"last_seq"`
}

// WorkerBye is the last message of a worker in a run, after its final metric event.
// LastSeq lets the collector check that it holds every event; the totals let a
// consumer check its own sums.
type WorkerBye struct {
	SchemaVersion int    `msgpack:"schema_version" json:"schema_version"`
	RunID         string `msgpack:"run_id" json:"run_id"`
	WorkerID      string `msgpack:"worker_id" json:"worker_id"`
	AtNs          int64  `msgpack:"at_ns" json:"at_ns"`
	LastSeq       uint64 `msgpack:"last_seq" json:"last_seq"`
	Requests      uint64 `msgpack:"requests" json:"requests"`
	Errors        uint64 `msgpack:"errors" json:"errors"`
}

// MetricEvent is one worker's measurements over one interval (at most 250 ms),
// with one entry per endpoint that saw traffic. Intervals are aligned to the run's
// StartedAtNs, so an interval never straddles a second boundary of the run.
type MetricEvent struct {
	SchemaVersion int    `msgpack:"schema_version" json:"schema_version"`
	RunID         string `msgpack:"run_id" json:"run_id"`
	WorkerID      string `msgpack:"worker_id" json:"worker_id"`
	// Seq counts this worker's events from 1, without gaps.
	Seq     uint64 `msgpack:"seq" json:"seq"`
	StartNs int64  `msgpack:"start_ns" json:"start_ns"`
	EndNs   int64  `msgpack:"end_ns" json:"end_ns"`
	// VUs is the number of VUs running at EndNs.
	VUs               int    `msgpack:"vus" json:"vus"`
	Iterations        uint64 `msgpack:"iterations" json:"iterations"`
	DroppedIterations uint64 `msgpack:"dropped_iterations" json:"dropped_iterations"`
	// Final marks the worker's last event of the run.
	Final bool `msgpack:"final" json:"final"`
	// Done: the worker has no more work and its VUs have ended: its share of
	// the run's iterations is made, or a data set with when_done: stop ran
	// out of rows. The session ends the run once every worker is done.
	Done      bool              `msgpack:"done,omitempty" json:"done,omitempty"`
	Endpoints []EndpointMetrics `msgpack:"endpoints" json:"endpoints"`
	// ScheduleLagUs (open model) is a sparse HDR histogram like LatencyUs of
	// how late arrivals were handed to a VU: actual dispatch − intended time.
	ScheduleLagUs [][2]int64 `msgpack:"schedule_lag_us,omitempty" json:"schedule_lag_us,omitempty"`
	// IterationDurationUs is a sparse HDR histogram like LatencyUs of the
	// iterations that ended in the interval, from start to end (think time excluded).
	IterationDurationUs [][2]int64 `msgpack:"iteration_duration_us,omitempty" json:"iteration_duration_us,omitempty"`

	// NotSent counts, by cause ("fds", "ports", "memory"), the requests the
	// worker could not even attempt for lack of its own resources in the
	// interval. They never reached the wire and are not in any requests count.
	NotSent map[string]uint64 `msgpack:"not_sent,omitempty" json:"not_sent,omitempty"`
}

// EndpointMetrics is one endpoint's share of a MetricEvent. A request counts in
// the interval in which it completed (or failed).
type EndpointMetrics struct {
	Name         string            `msgpack:"name" json:"name"`
	Method       string            `msgpack:"method" json:"method"`
	URL          string            `msgpack:"url" json:"url"`
	Requests     uint64            `msgpack:"requests" json:"requests"`
	Errors       uint64            `msgpack:"errors" json:"errors"`
	BytesIn      uint64            `msgpack:"bytes_in" json:"bytes_in"`
	BytesOut     uint64            `msgpack:"bytes_out" json:"bytes_out"`
	StatusCodes  map[string]uint64 `msgpack:"status_codes" json:"status_codes"`
	ErrorsByKind map[string]uint64 `msgpack:"errors_by_kind" json:"errors_by_kind"`
	// LastDoneNs is when the last request counted here completed or failed
	// (0 when unknown). The result's duration runs to the latest of these
	// after the stop, not to the end of the interval.
	LastDoneNs int64 `msgpack:"last_done_ns,omitempty" json:"last_done_ns,omitempty"`
	// LatencyUs is a sparse HDR histogram (1 µs .. 60 s, 3 significant digits) of
	// request latency in microseconds: [value, count] pairs, value ascending.
	// Recording each value count times into any HDR histogram rebuilds it exactly.
	LatencyUs [][2]int64 `msgpack:"latency_us" json:"latency_us"`
	// ErrorLatencyUs is the part of LatencyUs that failed (errors with a
	// latency: timeouts, resets, 4xx, 5xx …), so that LatencyUs minus it is
	// the successful requests' latency. Absent: none failed.
	ErrorLatencyUs [][2]int64 `msgpack:"error_latency_us,omitempty" json:"error_latency_us,omitempty"`
	// HTTPClient names the client that sent the endpoint's requests: "fast"
	// (loadforge's own HTTP/1.1 client) or "net/http". Empty from older workers.
	HTTPClient string `msgpack:"http_client" json:"http_client,omitempty"`
	// Protocol names the HTTP protocol(s) the endpoint's requests went over in
	// the interval: "HTTP/1.1", "HTTP/2.0", or both joined by "+". Empty from
	// older workers.
	Protocol string `msgpack:"protocol,omitempty" json:"protocol,omitempty"`
	// TLSError is why a TLS connection of the interval failed (its first
	// failure, with a hint), when one did.
	TLSError string `msgpack:"tls_error,omitempty" json:"tls_error,omitempty"`
	// ServiceTimeUs (open model) is like LatencyUs but measured from the
	// request's actual send instead of its intended start. Absent: the same as
	// LatencyUs (a closed model measures from the send).
	ServiceTimeUs [][2]int64 `msgpack:"service_time_us,omitempty" json:"service_time_us,omitempty"`
	// The timing breakdown of the requests with a response, as sparse HDR
	// histograms in microseconds with BreakdownSigFigs significant digits:
	// TCP connect and TLS handshake (only requests that opened a connection),
	// waiting (request written → first response byte) and receiving (first
	// byte → body read).
	ConnectingUs     [][2]int64 `msgpack:"connecting_us,omitempty" json:"connecting_us,omitempty"`
	TLSHandshakingUs [][2]int64 `msgpack:"tls_handshaking_us,omitempty" json:"tls_handshaking_us,omitempty"`
	WaitingUs        [][2]int64 `msgpack:"waiting_us,omitempty" json:"waiting_us,omitempty"`
	ReceivingUs      [][2]int64 `msgpack:"receiving_us,omitempty" json:"receiving_us,omitempty"`
	// Checks counts the scenario's checks on this endpoint's responses in the
	// interval, one entry per check name. Checks never change how a request counts.
	Checks []CheckCount `msgpack:"checks,omitempty" json:"checks,omitempty"`

	// Retries counts the requests among Requests that were resends of an
	// earlier attempt (each attempt that reached the wire is a request of
	// its own). Absent when none.
	Retries uint64 `msgpack:"retries,omitempty" json:"retries,omitempty"`
}

// CheckCount is how often one named check passed and failed.
type CheckCount struct {
	Name   string `msgpack:"name" json:"name"`
	Passes uint64 `msgpack:"passes" json:"passes"`
	Fails  uint64 `msgpack:"fails" json:"fails"`
}

// BreakdownSigFigs is the precision of the timing-breakdown histograms
// (1 µs .. 60 s like latency, but 2 significant digits: 20 KB each instead of 140 KB).
const BreakdownSigFigs = 2

// Snapshot is published by the collector once per second of the run on
// loadforge.<run>.snapshot. Its counts are for that second alone; the snapshots
// of a run add up to the result's totals.
type Snapshot struct {
	SchemaVersion int    `msgpack:"schema_version" json:"schema_version"`
	RunID         string `msgpack:"run_id" json:"run_id"`
	// Seq is the second of the run this snapshot covers, from 1.
	Seq               uint64    `msgpack:"seq" json:"seq"`
	TS                float64   `msgpack:"t_s" json:"t_s"`
	VUs               int       `msgpack:"vus" json:"vus"`
	Requests          uint64    `msgpack:"requests" json:"requests"`
	Errors            uint64    `msgpack:"errors" json:"errors"`
	BytesIn           uint64    `msgpack:"bytes_in" json:"bytes_in"`
	BytesOut          uint64    `msgpack:"bytes_out" json:"bytes_out"`
	DroppedIterations uint64    `msgpack:"dropped_iterations" json:"dropped_iterations"`
	RPS               float64   `msgpack:"rps" json:"rps"`
	LatencyMs         LatencyMs `msgpack:"latency_ms" json:"latency_ms"`
	// ChecksPasses and ChecksFails count that second's check results over all endpoints.
	ChecksPasses uint64 `msgpack:"checks_passes" json:"checks_passes"`
	ChecksFails  uint64 `msgpack:"checks_fails" json:"checks_fails"`
	// Final marks the last snapshot of the run.
	Final bool `msgpack:"final" json:"final"`
}

// Error kinds, as counted in errors_by_kind.
const (
	ErrRefused  = "refused"  // connection refused
	ErrTimeout  = "timeout"  // the per-request timeout expired
	ErrReset    = "reset"    // connection reset or closed mid-request
	ErrDNS      = "dns"      // name resolution failed
	ErrTLS      = "tls"      // TLS handshake or certificate failure
	ErrHTTP4xx  = "http_4xx" // the server answered 400-499
	ErrHTTP5xx  = "http_5xx" // the server answered 500-599
	ErrCanceled = "canceled" // sent, then cut off by a hard stop or the end of the graceful stop
	ErrOther    = "other"    // anything else
	// HTTP/2: the server reset the request's stream (RST_STREAM), or sent
	// GOAWAY before answering it. Either counts once, as this error.
	ErrStreamReset = "stream_reset"
	ErrGoAway      = "goaway"
)

// WorkerAssignment is published by the session on loadforge.<run>.assign when
// the run has remote workers: at once whenever the workers carrying the load
// change, and again every second as the coordinator's heartbeat (a worker that
// hears none for a few seconds leaves the run).
type WorkerAssignment struct {
	SchemaVersion int    `msgpack:"schema_version" json:"schema_version"`
	RunID         string `msgpack:"run_id" json:"run_id"`
	// Seq rises with each change of Workers or Lost; a repeat keeps it.
	Seq  uint64 `msgpack:"seq" json:"seq"`
	AtNs int64  `msgpack:"at_ns" json:"at_ns"`
	// Wanted is how many workers the run waits for before it starts.
	Wanted int `msgpack:"wanted" json:"wanted"`
	// Workers carry the load, in segment order: the worker at index i of n
	// carries segment i of n of the plan. For VUs that is total/n, plus one
	// for the first total%n workers; for the rps limit, limit/n.
	Workers []string `msgpack:"workers" json:"workers"`
	// Lost are the workers dropped from the run because they missed three
	// heartbeats; their share moved to the others.
	Lost []string `msgpack:"lost" json:"lost"`
	// EffectiveNs is when a change of Workers takes effect for an open
	// model's arrivals: each worker switches to its new share at the first
	// arrival due at or after it. The session sets it AssignmentLeadNs after
	// the change, so that every worker hears it first; a repeat keeps it.
	// Zero (an older session): AtNs + AssignmentLeadNs.
	EffectiveNs int64 `msgpack:"effective_ns,omitempty" json:"effective_ns,omitempty"`
}

// AssignmentLeadNs is how long after a change of workers its assignment
// takes effect for an open model's arrivals: 200 ms.
const AssignmentLeadNs = int64(200_000_000)

// ControlCommand is published by an outside program on loadforge.<run>.control
// to steer a run whose load is external. It may also be a JSON object with the
// same keys, for hand-typed commands. A request (with a reply subject) gets a
// ControlReply in the same encoding.
type ControlCommand struct {
	SchemaVersion int `msgpack:"schema_version" json:"schema_version"`
	// RunID may be left empty; when set it must be the run's.
	RunID string `msgpack:"run_id" json:"run_id"`
	// TargetVUs is the number of VUs that should run, over all workers.
	TargetVUs int `msgpack:"target_vus" json:"target_vus"`
	// Done ends the load: the run stops as at the end of a pattern.
	Done bool `msgpack:"done" json:"done"`
}

// ControlReply answers a ControlCommand sent as a request.
type ControlReply struct {
	SchemaVersion int    `msgpack:"schema_version" json:"schema_version"`
	RunID         string `msgpack:"run_id" json:"run_id"`
	OK            bool   `msgpack:"ok" json:"ok"`
	// Seq is the scale command the control command became (0 when refused).
	Seq       uint64 `msgpack:"seq" json:"seq"`
	TargetVUs int    `msgpack:"target_vus" json:"target_vus"`
	Done      bool   `msgpack:"done" json:"done"`
	// Error says why the command was refused.
	Error string `msgpack:"error,omitempty" json:"error,omitempty"`
}

// ThresholdState is published by the collector on loadforge.<run>.threshold
// whenever a threshold's verdict changes, and once more per threshold at the
// end of the run with Final set.
type ThresholdState struct {
	SchemaVersion int    `msgpack:"schema_version" json:"schema_version"`
	RunID         string `msgpack:"run_id" json:"run_id"`
	AtNs          int64  `msgpack:"at_ns" json:"at_ns"`
	// Metric is the threshold's metric with its tags as written in the plan,
	// e.g. http_req_duration{endpoint:login}; Expression is one of its expressions.
	Metric     string  `msgpack:"metric" json:"metric"`
	Expression string  `msgpack:"expression" json:"expression"`
	OK         bool    `msgpack:"ok" json:"ok"`
	Value      float64 `msgpack:"value" json:"value"`
	// AbortOnFail: a breach stops the run; Aborted: this threshold stopped it.
	AbortOnFail bool `msgpack:"abort_on_fail" json:"abort_on_fail"`
	Aborted     bool `msgpack:"aborted" json:"aborted"`
	Final       bool `msgpack:"final" json:"final"`
}
