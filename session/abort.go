package session

import (
	"fmt"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

// watchAborts listens for the collector's threshold states and sends, once,
// the reason to stop when a threshold with abort_on_fail failed. Unless
// quiet, the live progress notes each change of verdict as it happens.
func (s *session) watchAborts(conn *bus.Conn, progress *progress) (<-chan string, error) {
	aborts := make(chan string, 1)
	if len(s.cfg.Thresholds) == 0 {
		return aborts, nil
	}
	_, err := bus.Subscribe(conn, schemas.Subject(s.cfg.RunID, schemas.KindThreshold), func(_ string, ts *schemas.ThresholdState) {
		if ts.Final {
			return
		}
		if !s.cfg.Quiet {
			progress.threshold(ts)
		}
		if !ts.Aborted {
			return
		}
		select {
		case aborts <- fmt.Sprintf("threshold %s %s failed (value %g)", ts.Metric, ts.Expression, ts.Value):
		default: // the first abort is the one
		}
	})
	if err != nil {
		return nil, err
	}
	return aborts, nil
}
