package worker

import (
	"context"
	"fmt"

	"github.com/loadforge/loadforge/schemas"
)

// prepareClients picks the client of every request template (choice: the
// plan's http_client) and prepares the fast client's requests.
func (w *Worker) prepareClients(choice string) error {
	if !schemas.ValidHTTPClient(choice) {
		return fmt.Errorf("http client %q: want %s, %s or %s", choice, schemas.HTTPClientAuto, schemas.HTTPClientFast, schemas.HTTPClientNetHTTP)
	}
	w.fast = newFastClient()
	all := append(append([]*requestTemplate{}, w.setup...), w.teardown...)
	for _, task := range w.tasks {
		all = append(all, task...)
	}
	for _, t := range all {
		fast := t.tmpl.URL.Scheme == "http" && choice != schemas.HTTPClientNetHTTP
		if choice == schemas.HTTPClientFast && !fast {
			return fmt.Errorf("request %s %s: %w", t.tmpl.Method, t.tmpl.URL, errNoFastClient)
		}
		client := schemas.HTTPClientNetHTTP
		if fast {
			var err error
			if t.fast, err = newFastRequest(t); err != nil {
				return err
			}
			t.fast.slot = w.fast.slot(t.fast.addr)
			client = schemas.HTTPClientFast
		}
		// An endpoint reports the client of its first request, as it does its method and URL.
		if ep := &w.endpoints[t.endpoint]; ep.client == "" {
			ep.client = client
		}
	}
	return nil
}

// send sends one request of VU v with the client its template was prepared for.
func (w *Worker) send(stopCtx context.Context, v *vu, t *requestTemplate) outcome {
	var o outcome
	switch {
	case v.scn != nil:
		o = w.sendScenario(stopCtx, v, t)
	case t.fast != nil:
		o = v.fast.do(w, stopCtx, t)
	default:
		o = w.do(stopCtx, t)
	}
	o.settle()
	return o
}
