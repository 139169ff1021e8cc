package worker

import (
	"bytes"
	"context"
	"fmt"
	"github.com/loadforge/loadforge/internal/http1"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/loadforge/loadforge/internal/scenario"
	"github.com/loadforge/loadforge/schemas"
)

// scenarioRun is the worker's part of a scenario that behaves like users:
// vars, data sets (read once, shared by every VU), cookie jars, extraction
// and checks. Nil when the spec uses none of them: VUs then run exactly as
// before, on the fast path.
type scenarioRun struct {
	vars         map[string]string
	tables       []*scenario.Table
	cookies      bool
	extractNames []string
	checks       []checkDef  // every check of the worker, by id
	renderWarned atomic.Bool // a request could not be rendered; said once

	// readsData: some request renders a template or runs a check, so the
	// VUs' variables are read; without, a VU does not keep its iteration
	// number there (boxing it costs an allocation per iteration).
	readsData bool
}

// checkDef is one named check of one endpoint; its id is its index.
type checkDef struct {
	endpoint int
	name     string
}

// dynRequest is what a scenario request needs beyond its prepared template.
type dynRequest struct {
	url     *scenario.Template // nil: the prepared URL
	query   []dynPair
	headers []dynPair          // nil: the prepared headers
	body    *scenario.Template // nil: the prepared body
	json    *scenario.JSONBody // nil: no templated JSON body
	// static: nothing to render, the prepared request goes as it is.
	static     bool
	timeout    time.Duration // 0: the run's
	extract    []*scenario.Extractor
	extractIDs []int
	checks     []*scenario.Check
	checkIDs   []int
	needBody   bool
	needHdrs   bool
	// wire is the request's headers for the fast client's own writer, in the
	// order net/http writes them (by name); userAgent is apart, as it is there.
	wire      []dynPair
	userAgent *scenario.Template // nil: Go's default

	// plain: static, and nothing to check or extract, on the run's
	// timeout: while the VU's jar is empty, the request goes as it would
	// without a scenario (see sendPlain).
	plain bool
}

type dynPair struct {
	name  string
	value *scenario.Template
}

// flattenRequest folds what needs no rendering into the request itself, so
// that it is prepared once like any other: a JSON body without templates
// becomes the body, and a query without templates joins the URL. A JSON body
// sets Content-Type unless the request sets it.
func flattenRequest(r schemas.Request) schemas.Request {
	if r.JSON != "" {
		if !hasHeader(r.Headers, "Content-Type") {
			r.Headers = append(append([][2]string{}, r.Headers...), [2]string{"Content-Type", "application/json"})
		}
		if !scenario.IsTemplate(r.JSON) {
			r.Body = []byte(r.JSON)
		}
	}
	if len(r.Query) > 0 && !anyTemplate(r.Query) && !scenario.IsTemplate(r.URL) {
		r.URL = withQuery(r.URL, r.Query)
	}
	return r
}

func hasHeader(hs [][2]string, name string) bool {
	for _, h := range hs {
		if strings.EqualFold(h[0], name) {
			return true
		}
	}
	return false
}

func anyTemplate(kvs [][2]string) bool {
	for _, kv := range kvs {
		if scenario.IsTemplate(kv[1]) {
			return true
		}
	}
	return false
}

// withQuery adds URL-encoded pairs to u's query.
func withQuery(u string, kvs [][2]string) string {
	var b strings.Builder
	b.WriteString(u)
	sep := byte('?')
	if strings.Contains(u, "?") {
		sep = '&'
	}
	for _, kv := range kvs {
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(url.QueryEscape(kv[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[1]))
	}
	return b.String()
}

// usesScenario reports whether spec needs the scenario machinery.
func usesScenario(spec schemas.RunSpec) bool {
	if len(spec.Vars) > 0 || len(spec.Data) > 0 || spec.Cookies {
		return true
	}
	for _, q := range spec.Scenario.Requests() {
		if len(q.Extract) > 0 || len(q.Checks) > 0 || q.JSON != "" || len(q.Query) > 0 || q.TimeoutNs != 0 ||
			scenario.IsTemplate(q.URL) || scenario.IsTemplate(string(q.Body)) || anyTemplate(q.Headers) {
			return true
		}
	}
	return false
}

// compileScenario prepares the spec's scenario machinery, once the requests
// themselves are prepared.
func (w *Worker) compileScenario(spec schemas.RunSpec) error {
	w.iterations = spec.Iterations
	if spec.Iterations < 0 {
		return fmt.Errorf("iterations %d is negative", spec.Iterations)
	}
	if !usesScenario(spec) {
		return nil
	}
	sr := &scenarioRun{vars: map[string]string{}, cookies: spec.Cookies}
	names := scenario.Names{Vars: map[string]bool{}, Extracted: map[string]bool{}, Sets: map[string][]string{}}
	for _, v := range spec.Vars {
		sr.vars[v[0]] = v[1]
		names.Vars[v[0]] = true
	}
	for _, ds := range spec.Data {
		t, err := scenario.NewTable(ds)
		if err != nil {
			return err
		}
		sr.tables = append(sr.tables, t)
		names.Sets[ds.Name] = ds.Columns
	}
	for _, q := range spec.Scenario.Requests() {
		for _, e := range q.Extract {
			if !names.Extracted[e.Name] {
				names.Extracted[e.Name] = true
				sr.extractNames = append(sr.extractNames, e.Name)
			}
		}
	}
	ids := map[checkDef]int{}
	id := func(ep int, name string) int {
		k := checkDef{endpoint: ep, name: name}
		i, ok := ids[k]
		if !ok {
			i = len(sr.checks)
			ids[k] = i
			sr.checks = append(sr.checks, k)
		}
		return i
	}
	sc := spec.Scenario
	pairs := func(ts []*requestTemplate, rs []schemas.Request) error {
		for i, r := range rs {
			d, err := compileDyn(flattenRequest(r), &names)
			if err != nil {
				return fmt.Errorf("request %q: %w", r.Name, err)
			}
			for _, x := range d.extract {
				d.extractIDs = append(d.extractIDs, id(ts[i].endpoint, "extract "+x.Name))
			}
			for _, c := range d.checks {
				d.checkIDs = append(d.checkIDs, id(ts[i].endpoint, c.Name))
			}
			ts[i].dyn = d
			sr.readsData = sr.readsData || !d.static || len(d.checks) > 0
		}
		return nil
	}
	if err := pairs(w.setup, sc.Setup); err != nil {
		return err
	}
	for i, t := range sc.Tasks {
		if err := pairs(w.tasks[i], t.Requests); err != nil {
			return err
		}
	}
	if err := pairs(w.teardown, sc.Teardown); err != nil {
		return err
	}
	w.scn = sr
	return nil
}

// compileDyn compiles the templates, extraction and checks of r.
func compileDyn(r schemas.Request, names *scenario.Names) (*dynRequest, error) {
	d := &dynRequest{timeout: time.Duration(r.TimeoutNs)}
	var err error
	if scenario.IsTemplate(r.URL) {
		if d.url, err = scenario.Compile(r.URL, names); err != nil {
			return nil, fmt.Errorf("url: %w", err)
		}
	}
	if len(r.Query) > 0 && (d.url != nil || anyTemplate(r.Query)) {
		for _, kv := range r.Query {
			t, err := scenario.Compile(kv[1], names)
			if err != nil {
				return nil, fmt.Errorf("query %s: %w", kv[0], err)
			}
			d.query = append(d.query, dynPair{kv[0], t})
		}
	}
	if anyTemplate(r.Headers) {
		for _, h := range r.Headers {
			t, err := scenario.Compile(h[1], names)
			if err != nil {
				return nil, fmt.Errorf("header %s: %w", h[0], err)
			}
			d.headers = append(d.headers, dynPair{h[0], t})
		}
	}
	if r.JSON != "" && scenario.IsTemplate(r.JSON) {
		if d.json, err = scenario.CompileJSON(r.JSON, names); err != nil {
			return nil, err
		}
	} else if scenario.IsTemplate(string(r.Body)) {
		if d.body, err = scenario.Compile(string(r.Body), names); err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
	}
	d.static = d.url == nil && d.query == nil && d.headers == nil && d.json == nil && d.body == nil
	if err := d.wireHeaders(r.Headers, names); err != nil {
		return nil, err
	}
	for _, e := range r.Extract {
		x, err := scenario.CompileExtract(e)
		if err != nil {
			return nil, fmt.Errorf("extract %s: %w", e.Name, err)
		}
		d.extract = append(d.extract, x)
		d.needBody = d.needBody || x.NeedsBody()
		d.needHdrs = d.needHdrs || !x.NeedsBody()
	}
	for _, c := range r.Checks {
		k, err := scenario.CompileCheck(c, names)
		if err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		d.checks = append(d.checks, k)
		d.needBody = d.needBody || k.NeedsBody()
		d.needHdrs = d.needHdrs || k.NeedsHeaders()
	}
	d.plain = d.static && d.timeout == 0 && len(d.extract) == 0 && len(d.checks) == 0
	return d, nil
}

// vuScenario is one VU's scenario state: its variables (what templates
// see), its cookie jar, and buffers reused from request to request.
type vuScenario struct {
	data      scenario.Data
	jar       *cookiejar.Jar // nil until a response sets a cookie
	iteration int
	capture   http1.Capture
	buf       bytes.Buffer // URL and header rendering
	scratch   bytes.Buffer // check values, JSON strings
	body      bytes.Buffer // request body
	wire      bytes.Buffer // the fast client's request bytes
	fr        http1.Request
	respBody  bytes.Buffer // net/http response body
	results   []checkResult
}

type checkResult struct {
	id   int
	pass bool
}

// checkTally counts one check's results in a shard.
type checkTally struct{ passes, fails uint64 }

// startScenarioVU gives v its variables and its per_vu rows; false: the
// rows ran out (when_done: stop) and v must not run.
func (w *Worker) startScenarioVU(v *vu) bool {
	sr := w.scn
	if sr == nil {
		return true
	}
	s := &vuScenario{data: make(scenario.Data, len(sr.vars)+len(sr.extractNames)+len(sr.tables)+3)}
	for k, val := range sr.vars {
		s.data[k] = val
	}
	for _, n := range sr.extractNames {
		s.data[n] = ""
	}
	idx, cnt := w.share.index(), max(1, w.share.count())
	s.data[scenario.NameVU] = v.id*cnt + idx + 1
	s.data[scenario.NameWorker] = idx + 1
	s.data[scenario.NameIteration] = 0
	for _, t := range sr.tables {
		if t.Set.Pick != schemas.PickPerVU {
			// Until the first iteration picks one: empty columns.
			empty := make(map[string]string, len(t.Set.Columns))
			for _, c := range t.Set.Columns {
				empty[c] = ""
			}
			s.data[t.Set.Name] = empty
			continue
		}
		row, ok := t.Pick(idx, cnt, v.rng)
		if !ok {
			w.rowsOut.Store(true)
			return false
		}
		s.data[t.Set.Name] = row
	}
	v.scn = s
	return true
}

// beginIteration takes one of the run's iterations (when it counts them)
// and the iteration's rows; false: none is left, and v ends.
func (w *Worker) beginIteration(v *vu) bool {
	if w.iterations > 0 && w.iterTaken.Add(1) > w.iterationBudget() {
		return false
	}
	s := v.scn
	if s == nil {
		return true
	}
	s.iteration++
	if w.scn.readsData {
		s.data[scenario.NameIteration] = s.iteration
	}
	for _, t := range w.scn.tables {
		if t.Set.Pick == schemas.PickPerVU {
			continue
		}
		row, ok := t.Pick(w.share.index(), max(1, w.share.count()), v.rng)
		if !ok {
			w.rowsOut.Store(true)
			return false
		}
		s.data[t.Set.Name] = row
	}
	return true
}

// iterationBudget is this worker's share of the run's iterations: split like
// VUs, total/count plus one for the first total%count workers.
func (w *Worker) iterationBudget() int64 {
	return int64(segmentOf(int(w.iterations), w.share.index(), w.share.count()))
}

// workDone reports whether this worker has no more work and its VUs have
// all ended: its iterations are made, or its rows ran out (when_done: stop).
func (w *Worker) workDone() bool {
	if w.alive.Load() != 0 {
		return false
	}
	return w.rowsOut.Load() || (w.iterations > 0 && w.iterTaken.Load() >= w.iterationBudget())
}

// sendScenario sends one request of a VU with scenario state: rendered when
// it has templates, with the VU's cookies, keeping what its checks and
// extraction need of the response, then running them.
func (w *Worker) sendScenario(stopCtx context.Context, v *vu, t *requestTemplate) outcome {
	s := v.scn
	d := t.dyn
	if d.plain && s.jar == nil && t.fast != nil && t.h2 == nil {
		return w.sendPlain(stopCtx, v, t)
	}
	timeout := w.timeout
	if d.timeout > 0 {
		timeout = d.timeout
	}
	u := t.tmpl.URL
	var err error
	if !d.static {
		if u, err = w.renderURL(s, t); err != nil {
			w.renderFailed(s, t, err)
			return outcome{unsent: true}
		}
	}
	cookie := ""
	if s.jar != nil {
		cookie = cookieHeader(s.jar.Cookies(u))
	}
	// auto over TLS: HTTP/2 where the server offers it, as send decides.
	h2 := t.h2 != nil && (t.alpn == nil || t.alpn.offersH2(stopCtx, t.tmpl.URL.Hostname()))
	var req *http.Request
	if h2 || t.fast == nil {
		if req, err = w.buildRequest(s, t, u, cookie); err != nil {
			w.renderFailed(s, t, err)
			return outcome{unsent: true}
		}
	}
	cookies := w.scn.cookies
	var o outcome
	res := scenario.Response{}
	if t.fast != nil && !h2 {
		fr := t.fast
		if !d.static || cookie != "" {
			if err := w.writeWire(s, t, u, cookie); err != nil {
				w.renderFailed(s, t, err)
				return outcome{unsent: true}
			}
			fr = t.fast.WithWire(&s.fr, s.wire.Bytes())
		}
		var keep *http1.Capture
		if d.needBody || d.needHdrs || cookies {
			s.capture.Setup(d.needHdrs, cookies, d.needBody)
			keep = &s.capture
		}
		if v.fast == nil {
			v.fast = w.fast.NewSession()
		}
		o = w.doFast(stopCtx, v.fast, fr, timeout, keep)
		res = scenario.Response{Status: o.status, Header: &s.capture, Body: s.capture.Body()}
	} else {
		var h http.Header
		if h2 {
			var keep *bytes.Buffer
			if d.needBody {
				keep = &s.respBody
			} else {
				s.respBody.Reset()
			}
			o, h = w.doH2Req(stopCtx, v, t, req, timeout, keep)
		} else {
			o, h = w.doScenarioNet(stopCtx, s, req, timeout, d.needBody)
		}
		res = scenario.Response{Status: o.status, Header: h, Body: s.respBody.Bytes()}
	}
	if o.unsent {
		return o
	}
	if o.status != 0 {
		res.Latency = o.end.Sub(o.start)
		if cookies && res.Header != nil {
			s.storeCookies(u, res.Header)
		}
	} else {
		res.Header, res.Body = nil, nil
	}
	for i, x := range d.extract {
		val, ok := "", false
		if o.status != 0 {
			val, ok = x.Extract(&res)
		}
		if ok {
			s.data[x.Name] = val
		}
		s.results = append(s.results, checkResult{id: d.extractIDs[i], pass: ok})
	}
	for i, c := range d.checks {
		s.results = append(s.results, checkResult{id: d.checkIDs[i], pass: c.Eval(&res, s.data, &s.scratch)})
	}
	return o
}

// renderFailed counts a request that could not be rendered (a template
// failed at run time) as a failed check of its endpoint; it is not sent.
func (w *Worker) renderFailed(s *vuScenario, t *requestTemplate, err error) {
	if !w.scn.renderWarned.Swap(true) {
		w.log.Warn("a request could not be rendered and was not sent; its checks count as failed",
			"endpoint", w.endpoints[t.endpoint].name, "err", err)
	}
	for _, id := range t.dyn.checkIDs {
		s.results = append(s.results, checkResult{id: id, pass: false})
	}
}

// renderURL is t's URL for this request: its template rendered, and its
// templated query added.
func (w *Worker) renderURL(s *vuScenario, t *requestTemplate) (*url.URL, error) {
	d := t.dyn
	if d.url == nil && d.query == nil {
		return t.tmpl.URL, nil
	}
	s.buf.Reset()
	if d.url != nil {
		if err := d.url.Execute(&s.buf, s.data); err != nil {
			return nil, err
		}
	} else {
		s.buf.WriteString(t.tmpl.URL.String())
	}
	if d.query != nil {
		sep := byte('?')
		if bytes.IndexByte(s.buf.Bytes(), '?') >= 0 {
			sep = '&'
		}
		for _, q := range d.query {
			s.buf.WriteByte(sep)
			sep = '&'
			s.buf.WriteString(url.QueryEscape(q.name))
			s.buf.WriteByte('=')
			s.scratch.Reset()
			if err := q.value.Execute(&s.scratch, s.data); err != nil {
				return nil, err
			}
			s.buf.WriteString(url.QueryEscape(s.scratch.String()))
		}
	}
	u, err := url.Parse(s.buf.String())
	if err != nil {
		return nil, fmt.Errorf("rendered url: %w", err)
	}
	if u.Host != t.tmpl.URL.Host || u.Scheme != t.tmpl.URL.Scheme {
		return nil, fmt.Errorf("rendered url %q changes the scheme or host", u.Redacted())
	}
	return u, nil
}

// buildRequest makes t's request for this VU: headers and body rendered, the
// jar's cookies added.
func (w *Worker) buildRequest(s *vuScenario, t *requestTemplate, u *url.URL, cookie string) (*http.Request, error) {
	d := t.dyn
	var h http.Header
	if d.headers != nil {
		h = make(http.Header, len(d.headers)+1)
		for _, p := range d.headers {
			s.scratch.Reset()
			if err := p.value.Execute(&s.scratch, s.data); err != nil {
				return nil, err
			}
			v := s.scratch.String()
			if schemas.CheckHeader(p.name, v) != nil {
				return nil, fmt.Errorf("header %s: rendered value holds a control character", p.name)
			}
			if http.CanonicalHeaderKey(p.name) == "Host" {
				continue // fixed when the request was prepared
			}
			h.Add(p.name, v)
		}
	} else {
		h = t.tmpl.Header.Clone()
	}
	if cookie != "" {
		if prev := h.Get("Cookie"); prev != "" {
			cookie = prev + "; " + cookie
		}
		h.Set("Cookie", cookie)
	}
	body, err := renderBody(s, t)
	if err != nil {
		return nil, err
	}
	req := &http.Request{
		Method: t.tmpl.Method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Host: t.tmpl.Host,
	}
	if len(body) > 0 {
		req.ContentLength = int64(len(body))
		req.Body = newBodyReader(body)
		req.GetBody = func() (io.ReadCloser, error) { return newBodyReader(body), nil }
	}
	return req, nil
}

// doScenarioNet is Worker.do for a built request: with its own timeout, and
// keeping the body when checks or extraction read it.
func (w *Worker) doScenarioNet(stopCtx context.Context, s *vuScenario, req *http.Request, timeout time.Duration, keepBody bool) (outcome, http.Header) {
	s.respBody.Reset()
	var keep *bytes.Buffer
	if keepBody {
		keep = &s.respBody
	}
	return w.doNet(stopCtx, req, nil, timeout, requestBytes(req), keep)
}

// readBody reads a response body to its end, keeping its first
// http1.MaxCaptureBody bytes in keep (nil: keeping nothing); n counts all of it.
func readBody(body io.Reader, keep *bytes.Buffer) (n int64, err error) {
	if keep == nil {
		return io.Copy(io.Discard, body)
	}
	n, err = keep.ReadFrom(io.LimitReader(body, http1.MaxCaptureBody))
	if err == nil {
		var m int64
		m, err = io.Copy(io.Discard, body)
		n += m
	}
	return n, err
}

// storeCookies keeps the cookies a response to u set.
func (s *vuScenario) storeCookies(u *url.URL, h scenario.Headers) {
	lines := h.Values("Set-Cookie")
	if len(lines) == 0 {
		return
	}
	var cs []*http.Cookie
	for _, l := range lines {
		if c, err := http.ParseSetCookie(l); err == nil {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return
	}
	if s.jar == nil {
		s.jar, _ = cookiejar.New(nil) // never fails without options
	}
	s.jar.SetCookies(u, cs)
}

func cookieHeader(cs []*http.Cookie) string {
	if len(cs) == 0 {
		return ""
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + "=" + c.Value
	}
	return strings.Join(parts, "; ")
}

// recordChecks counts a VU's check results in its shard.
func (s *shard) recordChecks(results []checkResult, n int) {
	s.mu.Lock()
	if s.checks == nil {
		s.checks = make([]checkTally, n)
	}
	for _, r := range results {
		if r.pass {
			s.checks[r.id].passes++
		} else {
			s.checks[r.id].fails++
		}
	}
	s.mu.Unlock()
}

// flushChecks moves v's pending check results to its shard; called once the
// request they belong to is recorded.
func (w *Worker) flushChecks(v *vu) {
	if s := v.scn; s != nil && len(s.results) > 0 {
		v.shard.recordChecks(s.results, len(w.scn.checks))
		s.results = s.results[:0]
	}
}

// collectChecks adds the checks counted since the last call to the
// endpoints' metrics (an endpoint whose requests were all counted before
// gets an entry of its own), and empties the shards' tallies.
func (w *Worker) collectChecks(eps []schemas.EndpointMetrics) []schemas.EndpointMetrics {
	if w.scn == nil || len(w.scn.checks) == 0 {
		return eps
	}
	sum := make([]checkTally, len(w.scn.checks))
	for _, s := range w.shards {
		s.mu.Lock()
		for i := range s.checks {
			sum[i].passes += s.checks[i].passes
			sum[i].fails += s.checks[i].fails
			s.checks[i] = checkTally{}
		}
		s.mu.Unlock()
	}
	for id, t := range sum {
		if t.passes == 0 && t.fails == 0 {
			continue
		}
		def := w.scn.checks[id]
		ep := w.endpoints[def.endpoint]
		j := -1
		for k := range eps {
			if eps[k].Name == ep.name {
				j = k
				break
			}
		}
		if j < 0 {
			eps = append(eps, schemas.EndpointMetrics{Name: ep.name, Method: ep.method, URL: ep.url, HTTPClient: ep.client})
			j = len(eps) - 1
		}
		eps[j].Checks = append(eps[j].Checks, schemas.CheckCount{Name: def.name, Passes: t.passes, Fails: t.fails})
	}
	return eps
}

// scenarioCounters are the worker's run-wide counts of the scenario's progress.
type scenarioCounters struct {
	iterations int64        // the run's shared iterations (0: not counted)
	iterTaken  atomic.Int64 // iterations begun by this worker's VUs
	rowsOut    atomic.Bool  // a data set with when_done: stop ran out
}

// renderBody is t's body for this request: rendered when it has templates.
func renderBody(s *vuScenario, t *requestTemplate) ([]byte, error) {
	d := t.dyn
	switch {
	case d.json != nil:
		s.body.Reset()
		if err := d.json.Execute(&s.body, s.data, &s.scratch); err != nil {
			return nil, err
		}
		return s.body.Bytes(), nil
	case d.body != nil:
		s.body.Reset()
		if err := d.body.Execute(&s.body, s.data); err != nil {
			return nil, err
		}
		return s.body.Bytes(), nil
	}
	return t.body, nil
}

// wireHeaders prepares the request's headers for writeWire: canonical
// names, sorted (stable), without those net/http writes on its own.
func (d *dynRequest) wireHeaders(hs [][2]string, names *scenario.Names) error {
	for _, h := range hs {
		k := http.CanonicalHeaderKey(h[0])
		t, err := scenario.Compile(h[1], names)
		if err != nil {
			return fmt.Errorf("header %s: %w", h[0], err)
		}
		switch k {
		case "Host", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		case "User-Agent":
			if d.userAgent == nil {
				d.userAgent = t
			}
			continue
		}
		d.wire = append(d.wire, dynPair{k, t})
	}
	slices.SortStableFunc(d.wire, func(a, b dynPair) int { return strings.Compare(a.name, b.name) })
	return nil
}

// writeWire writes t's request for this VU into s.wire as the fast client
// sends it: the bytes net/http's Request.Write gives for the same request
// (request line, Host, User-Agent, Content-Length, the other headers by
// name, the body), without building an http.Request. The cookie joins the
// headers in its place.
func (w *Worker) writeWire(s *vuScenario, t *requestTemplate, u *url.URL, cookie string) error {
	d := t.dyn
	body, err := renderBody(s, t)
	if err != nil {
		return err
	}
	b := &s.wire
	b.Reset()
	b.WriteString(t.tmpl.Method)
	b.WriteByte(' ')
	b.WriteString(u.RequestURI())
	b.WriteString(" HTTP/1.1\r\nHost: ")
	b.WriteString(t.tmpl.Host)
	b.WriteString("\r\nUser-Agent: ")
	if d.userAgent == nil {
		b.WriteString("Go-http-client/1.1")
	} else if err := w.writeHeaderValue(s, b, d.userAgent, "User-Agent"); err != nil {
		return err
	}
	b.WriteString("\r\n")
	// As net/http: a body's length, and 0 for these methods without one.
	if m := t.tmpl.Method; len(body) > 0 || m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch {
		b.WriteString("Content-Length: ")
		b.WriteString(strconv.Itoa(len(body)))
		b.WriteString("\r\n")
	}
	cookieDone := cookie == ""
	for _, h := range d.wire {
		if !cookieDone && h.name > "Cookie" {
			b.WriteString("Cookie: " + cookie + "\r\n")
			cookieDone = true
		}
		b.WriteString(h.name)
		b.WriteString(": ")
		if err := w.writeHeaderValue(s, b, h.value, h.name); err != nil {
			return err
		}
		if !cookieDone && h.name == "Cookie" {
			b.WriteString("; " + cookie)
			cookieDone = true
		}
		b.WriteString("\r\n")
	}
	if !cookieDone {
		b.WriteString("Cookie: " + cookie + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return nil
}

// writeHeaderValue renders a header value into b, trimmed as net/http
// trims it; a control character in it is an error.
func (w *Worker) writeHeaderValue(s *vuScenario, b *bytes.Buffer, t *scenario.Template, name string) error {
	if t.Static() {
		b.WriteString(strings.Trim(t.Source(), " \t"))
		return nil
	}
	s.scratch.Reset()
	if err := t.Execute(&s.scratch, s.data); err != nil {
		return err
	}
	v := bytes.Trim(s.scratch.Bytes(), " \t")
	for _, c := range v {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return fmt.Errorf("header %s: rendered value holds a control character", name)
		}
	}
	b.Write(v)
	return nil
}
