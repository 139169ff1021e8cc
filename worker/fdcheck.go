package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/loadforge/loadforge/internal/fdlimit"
	"github.com/loadforge/loadforge/schemas"
)

// OpenFiles is a process's open-file limit: Soft is in force, Hard is the
// most it could be raised to.
type OpenFiles struct{ Soft, Hard uint64 }

// ErrRefused: the worker declined a run whose share it cannot carry; its
// join said why.
var ErrRefused = errors.New("refused the run")

// fdShortfall says why vus VUs of this worker's (one of n) cannot all get
// their connections under its open-file limit; nil when they can, or when
// the limit or the run's peak is unknown.
func (w *Worker) fdShortfall(vus, n int) error {
	lim := w.cfg.OpenFiles
	if lim.Soft == 0 || vus <= 0 {
		return nil
	}
	sc := w.cfg.Spec.Scenario
	var urls []string
	for _, qs := range [][]schemas.Request{sc.Setup, sc.Teardown} {
		for _, q := range qs {
			urls = append(urls, q.URL)
		}
	}
	for _, t := range sc.Tasks {
		for _, q := range t.Requests {
			urls = append(urls, q.URL)
		}
	}
	what := fmt.Sprintf("this worker's share of the run (up to %d of the run's %d VUs over %d workers)", vus, w.cfg.Spec.PeakVUs, n)
	return fdlimit.Check(what, vus, urls, lim.Soft, lim.Hard)
}

// refuseShortOfFDs declines the run before joining it when this worker's
// largest possible share (segment 0 of the run's workers) cannot get its
// connections: running out of descriptors mid-run would measure the
// generator, not the target. It says so in the log and in a join that the
// session reads as a refusal, and returns an ErrRefused.
func (w *Worker) refuseShortOfFDs(ctx context.Context) error {
	n := max(w.cfg.Spec.Workers, 1)
	short := w.fdShortfall(segmentOf(w.cfg.Spec.PeakVUs, 0, n), n)
	if short == nil {
		return nil
	}
	w.log.Error("refusing the run: the open-file limit is too low for this worker's share", "reason", short.Error())
	join := &schemas.WorkerHello{
		SchemaVersion: schemas.Version, RunID: w.cfg.RunID, WorkerID: w.cfg.WorkerID,
		Name: w.cfg.Name, Host: hostName(), PID: os.Getpid(), AtNs: time.Now().UnixNano(),
		Refused: short.Error(),
	}
	if err := w.conn.Publish(schemas.Subject(w.cfg.RunID, schemas.KindJoin), join); err != nil {
		return fmt.Errorf("worker %s: join: %w", w.cfg.WorkerID, err)
	}
	if err := w.conn.Flush(ctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("worker %s: join: %w", w.cfg.WorkerID, err)
	}
	return fmt.Errorf("%w: %w", ErrRefused, short)
}

// warnShortOfFDs warns when a new share (a worker was lost and its VUs moved
// here) cannot get all its connections: the requests that find no descriptor
// are counted apart as not_sent.
func (w *Worker) warnShortOfFDs() {
	n := w.share.count()
	if short := w.fdShortfall(segmentOf(w.cfg.Spec.PeakVUs, w.share.index(), n), n); short != nil {
		w.log.Warn("the new share may run out of file descriptors; requests that cannot get a connection are counted as not_sent",
			"reason", short.Error())
	}
}
