package collector

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// addNotSent counts the requests a worker could not attempt for lack of its
// own resources (fds, ports, memory), and says so in the log the first time
// of each cause: the generator is short, whatever the figures say of the target.
func (a *aggregator) addNotSent(workerID string, notSent map[string]uint64) {
	for cause, n := range notSent {
		if n == 0 || n > maxCount || len(cause) > 32 {
			continue
		}
		if a.notSent == nil {
			a.notSent = make(map[string]uint64)
		}
		if _, seen := a.notSent[cause]; !seen {
			if len(a.notSent) >= 8 {
				continue // a handful of causes exist; more is garbage
			}
			a.cfg.log.Warn("the generator ran out of its own resources; those requests were not sent and are not counted as requests",
				"cause", cause, "worker_id", workerID, "not_sent", n)
		}
		a.notSent[cause] += n
	}
}

// notSentWarning is the result's warning about requests never attempted; empty if none.
func (a *aggregator) notSentWarning() string {
	if len(a.notSent) == 0 {
		return ""
	}
	var total uint64
	parts := make([]string, 0, len(a.notSent))
	for _, cause := range slices.Sorted(maps.Keys(a.notSent)) {
		total += a.notSent[cause]
		parts = append(parts, fmt.Sprintf("%s: %d", cause, a.notSent[cause]))
	}
	return fmt.Sprintf("the generator ran out of its own resources: %d requests were not sent (%s) and are not counted; raise the open-file limit or the local port range, or run fewer VUs per process",
		total, strings.Join(parts, ", "))
}
