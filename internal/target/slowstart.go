package target

import (
	"net/http"
	"time"
)

// slowstart is slow for the first ms after the first request to it (that
// request's ms), then fast: a service warming up, or a stall only at the
// start of a run.
func (h *Handler) slowstart(w http.ResponseWriter, r *http.Request) {
	ms, err := intParam(r, "ms", 2000)
	if err != nil {
		text(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	delay := -1 // absent: wait until the slow start is over
	if r.URL.Query().Has("delay") {
		if delay, err = intParam(r, "delay", 0); err != nil {
			text(w, http.StatusBadRequest, err.Error()+"\n")
			return
		}
	}
	// The first request sets when the slow start ends, for every later one.
	now := time.Now()
	h.slowStart.CompareAndSwap(0, now.Add(min(time.Duration(ms)*time.Millisecond, maxDelay)).UnixNano())
	end := time.Unix(0, h.slowStart.Load())
	if left := end.Sub(now); left > 0 {
		d := left
		if delay >= 0 {
			d = min(time.Duration(delay)*time.Millisecond, maxDelay)
		}
		if !wait(r.Context(), d) {
			return
		}
	}
	text(w, http.StatusOK, "ok\n")
}
