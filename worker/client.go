package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/loadforge/loadforge/internal/http1"
	"github.com/loadforge/loadforge/schemas"
)

// prepareClients picks the client of every request template (choice: the
// plan's http_client) and prepares the fast client's requests.
func (w *Worker) prepareClients(choice string) error {
	if !schemas.ValidHTTPClient(choice) {
		return fmt.Errorf("http client %q: want %s, %s or %s", choice, schemas.HTTPClientAuto, schemas.HTTPClientFast, schemas.HTTPClientNetHTTP)
	}
	dial := w.fastDial
	if dial == nil {
		dial = http1.DialFunc(reservedNameDialer(fastDialer.DialContext))
	}
	w.fast = http1.New(http1.Config{Dial: dial})
	all := append(append([]*requestTemplate{}, w.setup...), w.teardown...)
	for _, task := range w.tasks {
		all = append(all, task...)
	}
	for _, t := range all {
		client := schemas.HTTPClientNetHTTP
		if choice != schemas.HTTPClientNetHTTP {
			fr, err := w.fast.Prepare(t.tmpl, t.body)
			switch {
			case err == nil:
				t.fast = fr
				client = schemas.HTTPClientFast
			case !errors.Is(err, http1.ErrUnsupported) || choice == schemas.HTTPClientFast:
				return err
			}
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
	if t.fast != nil {
		if v.fast == nil {
			v.fast = w.fast.NewSession()
		}
		return w.doFast(stopCtx, v.fast, t.fast)
	}
	return w.do(stopCtx, t)
}

// doFast sends fr with the fast client and fills the outcome as the net/http
// path does: latency from just before the dial or write to the body's end,
// the timing breakdown, and unsent for a request a stop cut off before it
// was written in full.
func (w *Worker) doFast(stopCtx context.Context, s *http1.Session, fr *http1.Request) outcome {
	res := s.Do(stopCtx, fr, w.timeout)
	out := outcome{
		latencyUs: -1,
		bytesOut:  uint64(fr.Size()),
		bytesIn:   uint64(res.BytesIn),
		status:    res.Status,
		start:     res.Start,
		end:       res.End,
	}
	if res.Err != nil {
		out.errKind = classify(stopCtx, res.Err)
		out.unsent = out.errKind == kindCanceled && !res.Sent
		if !res.Sent {
			out.notSent = exhausted(res.Err)
		}
		return out
	}
	out.latencyUs = res.End.Sub(res.Start).Microseconds()
	out.errKind = statusKind(res.Status)
	out.timing = timing{
		connectingUs: res.Timing.ConnectingUs,
		waitingUs:    res.Timing.WaitingUs,
		receivingUs:  res.Timing.ReceivingUs,
	}
	return out
}

// fastDialer dials the fast client's connections.
var fastDialer = &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}

// statusKind is the error kind of a response's status: none below 400.
func statusKind(status int) int {
	switch {
	case status >= 400 && status <= 499:
		return kindHTTP4xx
	case status >= 500 && status <= 599:
		return kindHTTP5xx
	}
	return kindNone
}
