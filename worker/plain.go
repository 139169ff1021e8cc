package worker

import (
	"context"

	"github.com/loadforge/loadforge/internal/http1"
)

// sendPlain sends a request with nothing to render, check or extract, of a
// VU whose jar holds no cookie: its prepared bytes, as without a scenario,
// keeping only the response's Set-Cookie lines (when the jar is on). The
// first cookie stored sends the VU's next requests through sendScenario's
// full path, which adds the jar's cookies to them.
func (w *Worker) sendPlain(stopCtx context.Context, v *vu, t *requestTemplate) outcome {
	s := v.scn
	var keep *http1.Capture
	if w.scn.cookies {
		s.capture.Setup(false, true, false)
		keep = &s.capture
	}
	if v.fast == nil {
		v.fast = w.fast.NewSession()
	}
	o := w.doFast(stopCtx, v.fast, t.fast, w.timeout, keep)
	if keep != nil && o.status != 0 {
		s.storeCookies(t.tmpl.URL, keep)
	}
	return o
}
