package worker

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/loadforge/loadforge/internal/http1"
	"github.com/loadforge/loadforge/schemas"
)

// tlsHandshakeTimeout bounds a TLS handshake of net/http's connections.
const tlsHandshakeTimeout = 5 * time.Second

// newHTTPClient returns the client every VU of a worker shares. It keeps enough
// idle connections per host for every VU to reuse its own, never caps
// connections, never asks for compression (decompressing would cost us CPU and
// change what we measure), and does not follow redirects. Timeouts are per
// request, through the request's context.
//
// One request may still reach the target twice: the transport resends an
// idempotent request once when a kept-alive connection turns out to have been
// closed by the server before any response. Each attempt that reached the
// wire counts as a request (see requestTrace.earlierAttempts; the dialer's
// wireConn tells which did).
func newHTTPClient(tlsConfig *tls.Config, noKeepAlive bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	dial := reservedNameDialer(dialer.DialContext)
	tr := &http.Transport{
		// No proxy from the environment: a load test measures the target, not a proxy.
		Proxy:       nil,
		DialContext: countWrites(dial),
		// Over TLS the bytes are counted on the TLS connection: HTTP bytes,
		// as over plain http (wireconn.go).
		DialTLSContext:        dialTLSCounted(dial, tlsConfig, tlsHandshakeTimeout, nil, nil),
		MaxIdleConns:          0, // no limit overall
		MaxIdleConnsPerHost:   10_000,
		MaxConnsPerHost:       0,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ExpectContinueTimeout: 0,
		DisableKeepAlives:     noKeepAlive,
		// The fast client's bound: both clients refuse the same responses.
		MaxResponseHeaderBytes: 1 << 20,
	}
	return &http.Client{Transport: tr, CheckRedirect: noRedirects}
}

// noRedirects makes a 3xx the response of its request: following it would send
// the target a request nobody counts.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

type dialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// reservedNameDialer answers names under the reserved .invalid domain (RFC 6761
// §6.4) with "no such host" at once, without asking any resolver, as the RFC
// asks of resolution libraries.
func reservedNameDialer(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		name := strings.ToLower(strings.TrimSuffix(host, "."))
		if name == "invalid" || strings.HasSuffix(name, ".invalid") {
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{
				Err: "no such host", Name: host, IsNotFound: true,
			}}
		}
		return dial(ctx, network, addr)
	}
}

// endpoint is one name requests are counted under.
type endpoint struct {
	name, method, url string
	client            string // schemas.HTTPClientFast or schemas.HTTPClientNetHTTP
}

// requestTemplate is a scenario request prepared once: URL parsed, headers
// built, sizes computed. VUs shallow-copy tmpl for each request.
type requestTemplate struct {
	endpoint int // index into Worker.endpoints
	tmpl     *http.Request
	body     []byte
	bytesOut uint64
	fast     *http1.Request // nil: sent with net/http
	h2       *h2Request     // nil: not sent over HTTP/2
	// alpn (auto over TLS) picks between h2 and HTTP/1.1 by what the
	// server offers; nil: the choice is made.
	alpn *alpnProbe
	dyn  *dynRequest // scenario state (see scenario.go); nil when the spec uses none
}

// compileRequest validates r and prepares its template.
func compileRequest(r schemas.Request) (*requestTemplate, error) {
	// The plan's own checks (schemas), so that a worker refuses only what
	// validate refuses too.
	if err := r.Check(); err != nil {
		return nil, err
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w", r.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url %q: scheme must be http or https", r.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url %q: no host", r.URL)
	}
	req := &http.Request{
		Method:     method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, len(r.Headers)),
		Host:       u.Host,
	}
	for _, h := range r.Headers {
		k, v := h[0], h[1]
		if http.CanonicalHeaderKey(k) == "Host" {
			req.Host = v
			continue
		}
		req.Header.Add(k, v)
	}
	t := &requestTemplate{tmpl: req}
	if len(r.Body) > 0 {
		body := bytes.Clone(r.Body)
		t.body = body
		req.ContentLength = int64(len(body))
		// The transport replays the body through GetBody when it retries on a
		// reused connection that the server had closed, and on redirects.
		req.GetBody = func() (io.ReadCloser, error) { return newBodyReader(body), nil }
	}
	// Writing the request once checks what the transport would otherwise
	// reject on every attempt (the Host header, for one).
	probe := req.WithContext(context.Background())
	if t.body != nil {
		probe.Body = newBodyReader(t.body)
	}
	if err := probe.Write(io.Discard); err != nil {
		return nil, fmt.Errorf("request %s %s: %w", method, r.URL, err)
	}
	t.bytesOut = requestBytes(req)
	return t, nil
}

// requestBytes approximates what goes on the wire for req in HTTP/1.1: the
// request line, Host, the scenario's headers as "Name: value\r\n", the
// User-Agent the transport adds when there is none, Content-Length when there is
// a body, the blank line and the body. TLS framing is not counted.
func requestBytes(req *http.Request) uint64 {
	n := len(req.Method) + 1 + len(req.URL.RequestURI()) + len(" HTTP/1.1\r\n")
	n += len("Host: \r\n") + len(req.Host)
	n += headerBytes(req.Header)
	if _, ok := req.Header["User-Agent"]; !ok {
		n += len("User-Agent: Go-http-client/1.1\r\n")
	}
	if req.ContentLength > 0 {
		n += len("Content-Length: \r\n") + len(strconv.FormatInt(req.ContentLength, 10))
	}
	n += len("\r\n")
	return uint64(n) + uint64(req.ContentLength)
}

// responseHeaderBytes approximates the bytes of resp's status line and headers
// in their HTTP/1.1 form (the transport has already parsed them).
func responseHeaderBytes(resp *http.Response) uint64 {
	n := len("HTTP/1.1 ") + len(resp.Status) + len("\r\n") + headerBytes(resp.Header) + len("\r\n")
	return uint64(n)
}

func headerBytes(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(": ") + len(v) + len("\r\n")
		}
	}
	return n
}

// bodyReader is a request body: a bytes.Reader that closes, in one allocation.
type bodyReader struct{ bytes.Reader }

func newBodyReader(b []byte) *bodyReader {
	r := &bodyReader{}
	r.Reset(b)
	return r
}

func (*bodyReader) Close() error { return nil }

// outcome is what one request produced, ready to be recorded. Every client
// fills status, errKind, latencyUs, the byte counts, start, end and timing.
type outcome struct {
	status    int   // 0: no response
	errKind   int   // kindNone or an index into errorKinds
	latencyUs int64 // < 0: not recorded (the request did not complete)
	bytesIn   uint64
	bytesOut  uint64
	// start is when the request was sent, end when it completed or failed.
	start, end time.Time
	// timing is the request's breakdown; zero fields were not measured.
	timing timing
	// serviceUs (open model) is the latency from start when latencyUs runs
	// from the iteration's intended start; 0: not recorded apart.
	serviceUs int64
	// unsent: cut off by a stop before the request was on the wire. The
	// target never saw it, so it is not counted at all.
	unsent bool
	// via is the client and protocol that carried the request.
	via via
	// err is the transport error of a failed request; nil otherwise.
	err error
	// notSent: the generator lacked its own resources (fds, ports, memory)
	// to attempt it; counted apart by cause, never as a request.
	notSent int
	// earlier: attempts of this request that reached the wire before it and
	// failed there (net/http resends some requests on a fresh connection when
	// a kept-alive one died under them). Each is a request of its own, failed
	// as reset; retry marks this one as their resend.
	earlier int
	retry   bool
}

// do sends one request built from t and reads its response to the end. stopCtx
// is cancelled when in-flight requests must be cut off; the per-request timeout
// is layered under it.
func (w *Worker) do(stopCtx context.Context, t *requestTemplate) outcome {
	o, _ := w.doNet(stopCtx, t.tmpl, t.body, w.timeout, t.bytesOut, nil)
	return o
}

// doNet sends req (with body, when not nil, as its body) through net/http
// with its timeout, reading the response to its end and keeping the first
// bytes of its body in keep (nil: none); bytesOut is the request's size on
// the wire. It returns the response's header too (nil without a status).
func (w *Worker) doNet(stopCtx context.Context, req *http.Request, body []byte, timeout time.Duration, bytesOut uint64, keep *bytes.Buffer) (outcome, http.Header) {
	// The deadline counts from start, so a timed-out request's latency is
	// never below the timeout.
	start := time.Now()
	ctx, cancel := context.WithDeadline(stopCtx, start.Add(timeout))
	defer cancel()
	trace := new(requestTrace)
	req = req.WithContext(trace.attach(ctx))
	if body != nil {
		req.Body = newBodyReader(body)
	}
	out := outcome{latencyUs: -1, bytesOut: bytesOut, via: viaNetHTTP | viaHTTP11}
	out.start = start
	resp, err := w.client.Do(req)
	out.earlier = trace.earlierAttempts()
	out.retry = out.earlier > 0
	if err != nil {
		out.end = time.Now()
		out.err = err
		out.errKind = classify(stopCtx, err)
		out.unsent = out.errKind == kindCanceled && !trace.sent()
		if !trace.sent() {
			out.bytesOut = 0 // nothing of the request was written
			out.notSent = exhausted(err)
		}
		return out, nil
	}
	// Reading to the end and closing lets the transport reuse the connection.
	n, err := readBody(resp.Body, keep)
	resp.Body.Close()
	out.end = time.Now()
	out.timing = trace.timing(out.end)
	if resp.ProtoMajor == 2 {
		out.via = viaNetHTTP | viaHTTP2
	}
	out.bytesIn = responseHeaderBytes(resp) + uint64(n)
	if wire, ok := trace.wireBytesIn(); ok {
		out.bytesIn = wire // what came on the wire, as the fast client counts
	}
	if resp.StatusCode < 100 || resp.StatusCode > 999 {
		// No HTTP status (RFC 9110 has 100-599; three digits at most): a
		// malformed response, as the fast client reads it.
		out.errKind = kindOther
		return out, nil
	}
	out.status = resp.StatusCode
	if err != nil {
		out.err = err
		out.errKind = classify(stopCtx, err)
		return out, resp.Header
	}
	out.latencyUs = out.end.Sub(start).Microseconds()
	out.errKind = statusKind(resp.StatusCode)
	return out, resp.Header
}

// Error kinds as indexes, so that a shard counts them in an array.
const (
	kindNone = iota
	kindRefused
	kindTimeout
	kindReset
	kindDNS
	kindTLS
	kindHTTP4xx
	kindHTTP5xx
	kindCanceled
	kindOther
	kindStreamReset
	kindGoAway
	numKinds
)

// errorKinds names each kind index as it appears in errors_by_kind.
var errorKinds = [numKinds]string{
	kindRefused:  schemas.ErrRefused,
	kindTimeout:  schemas.ErrTimeout,
	kindReset:    schemas.ErrReset,
	kindDNS:      schemas.ErrDNS,
	kindTLS:      schemas.ErrTLS,
	kindHTTP4xx:  schemas.ErrHTTP4xx,
	kindHTTP5xx:  schemas.ErrHTTP5xx,
	kindCanceled: schemas.ErrCanceled,
	kindOther:    schemas.ErrOther,

	kindStreamReset: schemas.ErrStreamReset,
	kindGoAway:      schemas.ErrGoAway,
}

// classify names the kind of a transport error. A request cut off because
// stopCtx was cancelled is canceled whatever the error says (cancelling can
// surface as a reset or an EOF too).
func classify(stopCtx context.Context, err error) int {
	if stopCtx.Err() != nil || errors.Is(err, context.Canceled) {
		return kindCanceled
	}
	if k := http2Kind(err); k != kindNone {
		return k
	}
	var (
		dnsErr     *net.DNSError
		recordErr  tls.RecordHeaderError
		alertErr   tls.AlertError
		verifyErr  *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		invalidErr x509.CertificateInvalidError
		hostErr    x509.HostnameError
		netErr     net.Error
	)
	switch {
	case errors.As(err, &dnsErr):
		return kindDNS
	case errors.As(err, &recordErr), errors.As(err, &alertErr), errors.As(err, &verifyErr),
		errors.As(err, &unknownCA), errors.As(err, &invalidErr), errors.As(err, &hostErr):
		return kindTLS
	case errors.Is(err, syscall.ECONNREFUSED):
		return kindRefused
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return kindTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return kindReset
	}
	// Some failures are plain errors whose text is all that marks them.
	msg := err.Error()
	if strings.Contains(msg, "tls: ") || strings.Contains(msg, "x509: ") {
		return kindTLS
	}
	// net/http's errServerClosedIdle: the server closed a kept-alive connection
	// as the request went on it; the fast client calls that reset too.
	if strings.Contains(msg, "server closed idle connection") {
		return kindReset
	}
	return kindOther
}
