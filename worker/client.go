package worker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/loadforge/loadforge/internal/http1"
	"github.com/loadforge/loadforge/schemas"
)

// errFastHTTP2 refuses a plan that asks the fast client for HTTP/2.
var errFastHTTP2 = errors.New("the fast client speaks HTTP/1.1 only; http_version 2 needs http_client auto or net/http")

// prepareClients picks the client and protocol of every request template
// (choice: the plan's http_client, version its http_version) and prepares
// the requests of the fast and HTTP/2 clients:
//
//   - HTTP/1.1 goes to the fast client unless net/http is chosen;
//   - http_version 2 goes to the HTTP/2 client (h2c over plain http);
//   - auto over TLS asks the server once (ALPN) whether it speaks h2, at the
//     first request to its address, and goes to HTTP/2 if it does; the fast
//     client as chosen offers HTTP/1.1 only, so that the server speaks it.
func (w *Worker) prepareClients(choice, version string, tlsConfig *tls.Config, noKeepAlive bool) error {
	if !schemas.ValidHTTPClient(choice) {
		return fmt.Errorf("http client %q: want %s, %s or %s", choice, schemas.HTTPClientAuto, schemas.HTTPClientFast, schemas.HTTPClientNetHTTP)
	}
	if !schemas.ValidHTTPVersion(version) {
		return fmt.Errorf("http version %q: want %s, %s or %s", version, schemas.HTTPVersionAuto, schemas.HTTPVersion11, schemas.HTTPVersion2)
	}
	if choice == schemas.HTTPClientFast && version == schemas.HTTPVersion2 {
		return errFastHTTP2
	}
	dialer := fastDialer
	if noKeepAlive {
		// A connection that carries one request needs no TCP keep-alive:
		// that saves the dial four setsockopt calls.
		dialer = &net.Dialer{Timeout: fastDialer.Timeout, KeepAlive: -1}
	}
	dial := w.fastDial
	if dial == nil {
		dial = http1.DialFunc(reservedNameDialer(dialer.DialContext))
	}
	w.fast = http1.New(http1.Config{
		Dial:        dial,
		TLS:         tlsConfig,
		NoKeepAlive: noKeepAlive,
	})
	w.h2 = newH2Client(tlsConfig, noKeepAlive)
	probes := map[string]*alpnProbe{}
	all := append(append([]*requestTemplate{}, w.setup...), w.teardown...)
	for _, task := range w.tasks {
		all = append(all, task...)
	}
	for _, t := range all {
		secure := t.tmpl.URL.Scheme == "https"
		h2 := version == schemas.HTTPVersion2 ||
			(version != schemas.HTTPVersion11 && secure && choice != schemas.HTTPClientFast)
		if h2 {
			t.h2 = w.h2.prepare(t.tmpl)
		}
		client := schemas.HTTPClientNetHTTP
		if version != schemas.HTTPVersion2 && choice != schemas.HTTPClientNetHTTP {
			fr, err := w.fast.Prepare(t.tmpl, t.body)
			switch {
			case err == nil:
				t.fast = fr
				client = schemas.HTTPClientFast
			case !errors.Is(err, http1.ErrUnsupported) || choice == schemas.HTTPClientFast:
				return err
			}
		}
		if h2 && version != schemas.HTTPVersion2 {
			// auto over TLS: the server's ALPN answer decides, once per address.
			key := t.tmpl.URL.Host
			if probes[key] == nil {
				probes[key] = &alpnProbe{addr: w.h2.addrs[t.h2.slot].addr, tls: tlsConfig, timeout: w.timeout}
			}
			t.alpn = probes[key]
		}
		// An endpoint reports the client of its first request, as it does its
		// method and URL, until its requests say which ran.
		if ep := &w.endpoints[t.endpoint]; ep.client == "" {
			ep.client = client
		}
	}
	for _, task := range w.tasks {
		for _, t := range task {
			if t.fast != nil && t.h2 == nil && !slices.ContainsFunc(w.ahead, t.fast.SameAddress) {
				w.ahead = append(w.ahead, t.fast)
			}
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
	case t.h2 != nil && (t.alpn == nil || t.alpn.offersH2(stopCtx, t.tmpl.URL.Hostname())):
		o = w.doH2(stopCtx, v, t)
	case t.fast != nil:
		if v.fast == nil {
			v.fast = w.fast.NewSession()
		}
		o = w.doFast(stopCtx, v.fast, t.fast, w.timeout, nil)
	default:
		o = w.do(stopCtx, t)
	}
	o.settle()
	return o
}

// connectAhead dials v's fast-client connections to the addresses of the
// run's requests, before any request needs them. It sends nothing, so
// nothing is counted; a dial that fails is left for the first request to
// make again, and to count.
func (w *Worker) connectAhead(stopCtx context.Context, v *vu) {
	for _, fr := range w.ahead {
		if v.fast == nil {
			v.fast = w.fast.NewSession()
		}
		if err := v.fast.Connect(stopCtx, fr, w.timeout); err != nil {
			return
		}
	}
}

// closeConns closes the VU's connections.
func (v *vu) closeConns() {
	v.fast.Close()
	v.h2.close()
}

// alpnProbe asks a TLS server once which protocol it prefers: h2 or HTTP/1.1.
type alpnProbe struct {
	addr    string
	tls     *tls.Config
	timeout time.Duration
	once    sync.Once
	h2      bool
}

// offersH2 reports whether the server agreed to h2 when offered h2 and
// http/1.1, asking it at the first call. A server that cannot be asked (down,
// or its certificate untrusted) is taken to speak HTTP/1.1: the requests then
// fail, each counted with its own error.
func (p *alpnProbe) offersH2(stopCtx context.Context, host string) bool {
	p.once.Do(func() {
		ctx, cancel := context.WithTimeout(stopCtx, min(p.timeout, 5*time.Second))
		defer cancel()
		cfg := p.tls.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		cfg.NextProtos = []string{"h2", "http/1.1"}
		nc, err := reservedNameDialer(fastDialer.DialContext)(ctx, "tcp", p.addr)
		if err != nil {
			return
		}
		defer nc.Close()
		c := tls.Client(nc, cfg)
		if c.HandshakeContext(ctx) == nil {
			p.h2 = c.ConnectionState().NegotiatedProtocol == "h2"
		}
	})
	return p.h2
}

// doFast sends fr with the fast client and fills the outcome as the net/http
// path does: latency from just before the dial or write to the body's end,
// the timing breakdown, and unsent for a request a stop cut off before it
// was written in full.
func (w *Worker) doFast(stopCtx context.Context, s *http1.Session, fr *http1.Request, timeout time.Duration, keep *http1.Capture) outcome {
	res := s.DoCapture(stopCtx, fr, timeout, keep)
	out := outcome{
		latencyUs: -1,
		bytesOut:  uint64(fr.Size()),
		bytesIn:   uint64(res.BytesIn),
		status:    res.Status,
		start:     res.Start,
		end:       res.End,
		via:       viaFast | viaHTTP11,
	}
	if res.Err != nil {
		out.err = res.Err
		out.errKind = classify(stopCtx, res.Err)
		out.unsent = out.errKind == kindCanceled && !res.Sent
		if !res.Wrote {
			out.bytesOut = 0 // the connection failed before any byte went out
		}
		if !res.Sent {
			out.notSent = exhausted(res.Err)
		}
		return out
	}
	out.latencyUs = res.End.Sub(res.Start).Microseconds()
	out.errKind = statusKind(res.Status)
	out.timing = timing{
		connectingUs: res.Timing.ConnectingUs,
		tlsUs:        res.Timing.TLSUs,
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
