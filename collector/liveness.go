package collector

import (
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// handleAssignment follows the session's roster of remote workers. The session
// alone decides that a worker is lost (it owns the roster and moves the
// worker's share to the others); the collector only stops waiting for it.
// Events it sent before still count, and any that arrive later count too: each
// request is counted once, by the worker that sent it.
func (a *aggregator) handleAssignment(m *schemas.WorkerAssignment, now time.Time) {
	if m.RunID != a.cfg.runID {
		a.drop("assignment", "")
		return
	}
	// Lost workers were members: what they sent still counts.
	a.admit(m.Workers, now)
	a.admit(m.Lost, now)
	for _, id := range m.Lost {
		if !schemas.ValidToken(id) {
			a.drop("assignment with a bad worker id", id)
			continue
		}
		if w := a.worker(id); !w.lost {
			w.lost = true
			a.cfg.log.Warn("worker lost", "worker_id", id, "requests_so_far", w.requests)
		}
	}
}
