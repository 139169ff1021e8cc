// Package schemas holds every message that crosses the loadforge bus and every
// subject it travels on. Scheduler, worker and collector share only this package.
// schemas/README.md documents the same for consumers in other languages.
package schemas

import "strings"

// Version is the schema version carried by every message in its schema_version field.
// It changes only when a field changes meaning or disappears; new fields keep it.
const Version = 1

// SubjectRoot is the first token of every loadforge subject.
const SubjectRoot = "loadforge"

// Subject kinds: the tokens after loadforge.<run_id>.
const (
	KindState     = "state"            // SessionState, from the session
	KindScale     = "scale"            // ScaleCommand, from the scheduler
	KindHello     = "worker.hello"     // WorkerHello, from each worker
	KindHeartbeat = "worker.heartbeat" // WorkerHeartbeat, from each worker
	KindBye       = "worker.bye"       // WorkerBye, from each worker
	KindMetrics   = "metrics"          // MetricEvent, from each worker: loadforge.<run>.metrics.<worker_id>
	KindSnapshot  = "snapshot"         // Snapshot, from the collector, once per second
	KindResult    = "result"           // Result, from the collector, once at the end
	KindThreshold = "threshold"        // ThresholdState, from the collector, on each change and once at the end

	// Remote workers and outside control (loadforge run --workers N, load: external).
	KindSpec    = "spec"    // RunSpec, from the session, every second while it waits for remote workers
	KindJoin    = "join"    // WorkerHello, from a remote worker asking to carry part of a run
	KindAssign  = "assign"  // WorkerAssignment, from the session: who carries which share, who was lost
	KindControl = "control" // ControlCommand, from an outside program steering an external load
)

// Subject returns loadforge.<runID>.<kind>.
func Subject(runID, kind string) string {
	return SubjectRoot + "." + runID + "." + kind
}

// MetricsSubject is where worker workerID publishes its metric events.
func MetricsSubject(runID, workerID string) string {
	return Subject(runID, KindMetrics) + "." + workerID
}

// AllMetrics matches the metric events of every worker of a run.
func AllMetrics(runID string) string {
	return Subject(runID, KindMetrics) + ".>"
}

// AllWorker matches hello, heartbeat and bye of every worker of a run.
func AllWorker(runID string) string {
	return Subject(runID, "worker.>")
}

// AllSpecs matches the run specs of every run on the server: an idle remote
// worker listens here for a run to join.
func AllSpecs() string {
	return SubjectRoot + ".*." + KindSpec
}

// AllRun matches every subject of a run.
func AllRun(runID string) string {
	return SubjectRoot + "." + runID + ".>"
}

// ValidToken reports whether s can stand as one subject token (a run or worker id):
// non-empty, no dots, wildcards or white space.
func ValidToken(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n")
}
