package plan

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/internal/threshold"
	"github.com/loadforge/loadforge/schemas"
)

// Defaults for what a plan may leave out, and bounds that catch typos.
const (
	DefaultMethod = "GET"
	DefaultWeight = 1
	// MaxVUs bounds every VU count: a few extra zeros should not start millions of VUs.
	MaxVUs = 1_000_000
	// MaxSteps bounds a step pattern (each step is two stages).
	MaxSteps = 10_000
	// MaxWeight bounds a task weight, so that weights cannot overflow when summed.
	MaxWeight = 1_000_000
)

// Plan is a validated plan: everything a run needs.
type Plan struct {
	Name string
	// Spec holds the scenario with full URLs, bodies read, and the per-VU settings.
	Spec    schemas.RunSpec
	Pattern pattern.Pattern
	// GracefulStop is the effective graceful stop (schemas.DefaultGracefulStop when not given).
	GracefulStop time.Duration
	// Load describes the load form for people, e.g. "10 VUs for 30s".
	Load string
	// External is set (and Pattern empty) when the load comes from control commands.
	External *pattern.ExternalLoad
	// Uses lists, per request with templates, the names they use and where each comes from.
	Uses []RequestUses
	// Thresholds are the run's pass/fail criteria, parsed.
	Thresholds []threshold.Threshold
}

// Validate checks the plan; the error names the first bad field.
func (r *Raw) Validate() error {
	_, err := r.Build()
	return err
}

// Build validates the plan and turns it into what a run needs. Errors are
// single-line and name the field, with its file and line or the flag that set it.
func (r *Raw) Build() (*Plan, error) {
	b := &builder{r: r, endpoints: map[string]endpoint{}}
	p := &Plan{Name: r.Name}
	if p.Name == "" {
		p.Name = r.defaultName()
	}
	if r.BaseURL != "" {
		if _, err := b.checkURL("base_url", r.BaseURL); err != nil {
			return nil, err
		}
	}
	if err := b.checkHeaders("headers", r.Headers); err != nil {
		return nil, err
	}
	if err := b.scenarioSpec(&p.Spec); err != nil {
		return nil, err
	}
	sc, err := b.scenario()
	if err != nil {
		return nil, err
	}
	p.Spec.Scenario = sc
	p.Uses = b.scn.uses
	if p.Thresholds, err = b.buildThresholds(); err != nil {
		return nil, err
	}
	if p.Pattern, p.Load, err = b.load(); err != nil {
		return nil, err
	}
	p.External = b.external
	if p.GracefulStop, err = b.duration("load.graceful_stop", r.Load.GracefulStop, durOpt{def: ptr(schemas.DefaultGracefulStop)}); err != nil {
		return nil, err
	}
	if r.Think != nil {
		if r.Think.Min < 0 {
			return nil, r.errorAt("think", fmt.Sprintf("must be ≥ 0, got %s", r.Think.Min))
		}
		if r.Think.Min > r.Think.Max {
			return nil, r.errorAt("think", fmt.Sprintf("min %s is more than max %s", r.Think.Min, r.Think.Max))
		}
		p.Spec.ThinkMinNs, p.Spec.ThinkMaxNs = int64(r.Think.Min), int64(r.Think.Max)
	}
	timeout, err := b.duration("timeout", r.Timeout, durOpt{def: ptr(schemas.DefaultTimeout), positive: true})
	if err != nil {
		return nil, err
	}
	p.Spec.TimeoutNs = int64(timeout)
	if r.RPSLimit != nil {
		if *r.RPSLimit < 0 {
			return nil, r.errorAt("rps_limit", fmt.Sprintf("must be ≥ 0 (0: no limit), got %g", *r.RPSLimit))
		}
		p.Spec.RPSLimit = *r.RPSLimit
	}
	if err := b.httpClient(&p.Spec); err != nil {
		return nil, err
	}
	if err := b.connection(&p.Spec); err != nil {
		return nil, err
	}
	p.Spec.SchemaVersion = schemas.Version
	return p, nil
}

// httpClient checks the plan's choice of HTTP client.
func (b *builder) httpClient(spec *schemas.RunSpec) error {
	r := b.r
	switch r.HTTPClient {
	case "", schemas.HTTPClientAuto, schemas.HTTPClientNetHTTP, schemas.HTTPClientFast:
	default:
		return r.errorAt(KeyHTTPClient, fmt.Sprintf("want %s, %s or %s, got %q",
			schemas.HTTPClientAuto, schemas.HTTPClientFast, schemas.HTTPClientNetHTTP, r.HTTPClient))
	}
	spec.HTTPClient = r.HTTPClient
	return nil
}

func ptr[T any](v T) *T { return &v }

type endpoint struct{ method, url, path string }

type builder struct {
	r         *Raw
	endpoints map[string]endpoint // request name -> the endpoint it names
	external  *pattern.ExternalLoad
	scn       scenarioBuild
}

func (b *builder) checkURL(path, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, b.r.errorAt(path, fmt.Sprintf("must be an absolute http or https URL with a host, got %q", s))
	}
	return u, nil
}

func (b *builder) checkHeaders(path string, hs [][2]string) error {
	for _, h := range hs {
		p := path + "." + h[0]
		// The check the workers apply: what validate passes, run sends.
		if err := schemas.CheckHeader(h[0], h[1]); err != nil {
			return b.r.errorAt(p, err.Error())
		}
	}
	return nil
}

func (b *builder) scenario() (schemas.Scenario, error) {
	s := b.r.Scenario
	var out schemas.Scenario
	var err error
	if out.Setup, err = b.requests("scenario.setup", s.Setup); err != nil {
		return out, err
	}
	if len(s.Tasks) == 0 {
		return out, b.r.errorAt("scenario.tasks", "needs at least one task (or give --url)")
	}
	for i, t := range s.Tasks {
		path := index("scenario.tasks", i)
		task := schemas.Task{Name: t.Name, Weight: DefaultWeight}
		if task.Name == "" {
			task.Name = "task " + strconv.Itoa(i+1)
		}
		if t.Weight != nil {
			if *t.Weight < 1 || *t.Weight > MaxWeight {
				return out, b.r.errorAt(path+".weight", fmt.Sprintf("must be 1 to %d, got %d", MaxWeight, *t.Weight))
			}
			task.Weight = *t.Weight
		}
		if len(t.Requests) == 0 {
			return out, b.r.errorAt(path, "needs at least one request (requests: or request:)")
		}
		if t.single {
			req, err := b.request(path+".request", t.Requests[0])
			if err != nil {
				return out, err
			}
			task.Requests = []schemas.Request{req}
		} else if task.Requests, err = b.requests(path+".requests", t.Requests); err != nil {
			return out, err
		}
		out.Tasks = append(out.Tasks, task)
	}
	if out.Teardown, err = b.requests("scenario.teardown", s.Teardown); err != nil {
		return out, err
	}
	return out, nil
}

func (b *builder) requests(path string, qs []Request) ([]schemas.Request, error) {
	var out []schemas.Request
	for i, q := range qs {
		req, err := b.request(index(path, i), q)
		if err != nil {
			return nil, err
		}
		out = append(out, req)
	}
	return out, nil
}

func (b *builder) request(path string, q Request) (schemas.Request, error) {
	r := b.r
	method := strings.ToUpper(q.Method)
	if method == "" {
		method = DefaultMethod
	}
	if schemas.CheckMethod(method) != nil {
		return schemas.Request{}, r.errorAt(path+".method", fmt.Sprintf("bad method %q", q.Method))
	}
	var raw string
	switch {
	case q.Path != "" && q.URL != "":
		return schemas.Request{}, r.errorAt(path+".url", "give path or url, not both")
	case q.URL != "":
		raw = q.URL
	case q.Path != "":
		if r.BaseURL == "" {
			return schemas.Request{}, r.errorAt(path+".path", "needs base_url (or give a full url)")
		}
		raw = strings.TrimRight(r.BaseURL, "/") + "/" + strings.TrimLeft(q.Path, "/")
	default:
		return schemas.Request{}, r.errorAt(path, "needs a path (joined to base_url) or a url")
	}
	urlPath := path + ".url"
	if q.URL == "" {
		urlPath = path + ".path"
	}
	u, err := b.checkURL(urlPath, untemplated(raw))
	if err != nil {
		return schemas.Request{}, err
	}
	name := q.Name
	if name == "" {
		shown := q.Path
		if shown == "" {
			shown = u.RequestURI()
		}
		name = method + " " + shown
	}
	if prev, ok := b.endpoints[name]; ok && (prev.method != method || prev.url != raw) {
		return schemas.Request{}, r.errorAt(path+".name", fmt.Sprintf("%q already names %s %s (%s); give this request its own name", name, prev.method, prev.url, prev.path))
	} else if !ok {
		b.endpoints[name] = endpoint{method: method, url: raw, path: path}
	}
	if err := b.checkHeaders(path+".headers", q.Headers); err != nil {
		return schemas.Request{}, err
	}
	body, err := b.body(path+".body", q)
	if err != nil {
		return schemas.Request{}, err
	}
	out := schemas.Request{
		Name:    name,
		Method:  method,
		URL:     raw,
		Headers: mergeHeaders(r.Headers, q.Headers),
		Body:    body,
	}
	if err := b.scenarioRequest(path, q, &out); err != nil {
		return schemas.Request{}, err
	}
	return out, nil
}

// mergeHeaders gives the plan's default headers, less those the request sets
// itself (names compared without case), then the request's own.
func mergeHeaders(defaults, own [][2]string) [][2]string {
	var out [][2]string
	for _, d := range defaults {
		overridden := false
		for _, o := range own {
			if strings.EqualFold(d[0], o[0]) {
				overridden = true
				break
			}
		}
		if !overridden {
			out = append(out, d)
		}
	}
	return append(out, own...)
}

// body reads an "@file" body (relative to the plan's directory), or takes the
// text as it is; "@@…" stands for a body that starts with a literal "@".
func (b *builder) body(path string, q Request) ([]byte, error) {
	switch {
	case q.Body == "":
		return nil, nil
	case strings.HasPrefix(q.Body, "@@"):
		return []byte(q.Body[1:]), nil
	case strings.HasPrefix(q.Body, "@"):
		name := q.Body[1:]
		if name == "" {
			return nil, b.r.errorAt(path, "want @FILE, got a bare @ (write @@ for a literal @)")
		}
		if !filepath.IsAbs(name) && q.dir != "" {
			name = filepath.Join(q.dir, name)
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, b.r.errorAt(path, schemas.OneLine(err.Error()))
		}
		return data, nil
	}
	return []byte(q.Body), nil
}

type durOpt struct {
	def      *time.Duration // nil: required
	positive bool           // zero is an error too
}

func (b *builder) duration(path string, v *time.Duration, o durOpt) (time.Duration, error) {
	if v == nil {
		if o.def == nil {
			return 0, b.r.errorAt(path, "required")
		}
		return *o.def, nil
	}
	if *v < 0 || (o.positive && *v == 0) {
		bound := "≥ 0"
		if o.positive {
			bound = "> 0"
		}
		return 0, b.r.errorAt(path, fmt.Sprintf("must be %s, got %s", bound, *v))
	}
	return *v, nil
}

// vus reads a VU count; def nil means required.
func (b *builder) vus(path string, v *int, def *int) (int, error) {
	if v == nil {
		if def == nil {
			return 0, b.r.errorAt(path, "required")
		}
		return *def, nil
	}
	if *v < 0 {
		return 0, b.r.errorAt(path, fmt.Sprintf("must be ≥ 0, got %d", *v))
	}
	if *v > MaxVUs {
		return 0, b.r.errorAt(path, fmt.Sprintf("must be ≤ %d, got %d", MaxVUs, *v))
	}
	return *v, nil
}

// loadForms names the load forms given, in a fixed order.
func (l *Load) forms() []string {
	var f []string
	// A duration belongs to the rate when there is one, else to the VUs.
	if l.Iterations != nil {
		f = append(f, "iterations")
	} else if l.VUs != nil || (l.Duration != nil && l.Rate == nil) {
		f = append(f, "vus")
	}
	if l.Rate != nil {
		f = append(f, "rate")
	}
	if l.RateStages != nil {
		f = append(f, "rate_stages")
	}
	if l.Stages != nil {
		f = append(f, "stages")
	}
	if l.Ramp != nil {
		f = append(f, "ramp")
	}
	if l.Step != nil {
		f = append(f, "step")
	}
	if l.Spike != nil {
		f = append(f, "spike")
	}
	if l.External != nil {
		f = append(f, "external")
	}
	return f
}

func (b *builder) load() (pattern.Pattern, string, error) {
	l := b.r.Load
	var (
		p    pattern.Pattern
		desc string
		err  error
	)
	forms := l.forms()
	switch {
	case len(forms) == 0:
		return p, "", b.r.errorAt("load", "give one load form: vus and duration, stages, ramp, step, spike, rate and duration, rate_stages, or external")
	case len(forms) > 1:
		second := forms[1]
		return p, "", b.r.errorAt("load."+second, fmt.Sprintf("give one load form, but %s is given too", forms[0]))
	}
	switch forms[0] {
	case "vus":
		p, desc, err = b.constant(l)
	case "iterations":
		p, desc, err = b.iterations(l)
	case "stages":
		p, desc, err = b.stages(l.Stages)
	case "ramp":
		p, desc, err = b.ramp(l.Ramp)
	case "step":
		p, desc, err = b.step(l.Step)
	case "spike":
		p, desc, err = b.spike(l.Spike)
	case "rate", "rate_stages":
		p, desc, err = b.openModel(l)
	case "external":
		// No pattern: the targets come from outside while the run goes.
		desc, err = b.externalLoad(l.External)
		return p, desc, err
	}
	if err != nil {
		return p, "", err
	}
	if p.Rate == nil {
		if err := b.closedModel(l); err != nil {
			return p, "", err
		}
	}
	if err := p.Validate(); err != nil {
		return p, "", b.r.errorAt("load", err.Error())
	}
	return p, desc, nil
}

func (b *builder) constant(l Load) (pattern.Pattern, string, error) {
	if l.VUs != nil && l.Duration == nil {
		return pattern.Pattern{}, "", b.r.errorAt("load.vus", "needs a duration too (load.duration, --duration)")
	}
	vus, err := b.vus("load.vus", l.VUs, ptr(1))
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	d, err := b.duration("load.duration", l.Duration, durOpt{positive: true})
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	return pattern.Constant(vus, d), fmt.Sprintf("%d VUs for %s", vus, d), nil
}

func (b *builder) stages(ss []Stage) (pattern.Pattern, string, error) {
	if len(ss) == 0 {
		return pattern.Pattern{}, "", b.r.errorAt("load.stages", "needs at least one stage {duration, target}")
	}
	var p pattern.Pattern
	var parts []string
	moves := false
	for i, s := range ss {
		path := index("load.stages", i)
		d, err := b.duration(path+".duration", s.Duration, durOpt{})
		if err != nil {
			return p, "", err
		}
		n, err := b.vus(path+".target", s.Target, nil)
		if err != nil {
			return p, "", err
		}
		moves = moves || d > 0
		p.Stages = append(p.Stages, pattern.Stage{Duration: d, Target: n})
		parts = append(parts, fmt.Sprintf("%s→%d", d, n))
	}
	if !moves {
		return p, "", b.r.errorAt("load.stages", "the stages last 0s in all; give at least one a duration")
	}
	return p, "stages " + strings.Join(parts, ", "), nil
}

func (b *builder) ramp(rl *RampLoad) (pattern.Pattern, string, error) {
	from, err := b.vus("load.ramp.from", rl.From, ptr(0))
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	to, err := b.vus("load.ramp.to", rl.To, nil)
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	d, err := b.duration("load.ramp.duration", rl.Duration, durOpt{positive: true})
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	return pattern.Ramp(from, to, d), fmt.Sprintf("ramp %d→%d VUs over %s", from, to, d), nil
}

func (b *builder) step(sl *StepLoad) (pattern.Pattern, string, error) {
	start, err := b.vus("load.step.start", sl.Start, ptr(0))
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	if sl.Step == nil {
		return pattern.Pattern{}, "", b.r.errorAt("load.step.step", "required")
	}
	step := *sl.Step
	if step < -MaxVUs || step > MaxVUs {
		return pattern.Pattern{}, "", b.r.errorAt("load.step.step", fmt.Sprintf("must be between %d and %d, got %d", -MaxVUs, MaxVUs, step))
	}
	every, err := b.duration("load.step.every", sl.Every, durOpt{positive: true})
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	if sl.Steps == nil {
		return pattern.Pattern{}, "", b.r.errorAt("load.step.steps", "required")
	}
	steps := *sl.Steps
	if steps < 0 || steps > MaxSteps {
		return pattern.Pattern{}, "", b.r.errorAt("load.step.steps", fmt.Sprintf("must be 0 to %d, got %d", MaxSteps, steps))
	}
	// The bounds above keep this product far from overflowing an int.
	if last := start + steps*step; last < 0 || last > MaxVUs {
		return pattern.Pattern{}, "", b.r.errorAt("load.step", fmt.Sprintf("the last step has %d VUs; it must be 0 to %d", last, MaxVUs))
	}
	return pattern.Step(start, step, every, steps),
		fmt.Sprintf("step from %d VUs by %+d every %s, %d times", start, step, every, steps), nil
}

func (b *builder) spike(sl *SpikeLoad) (pattern.Pattern, string, error) {
	base, err := b.vus("load.spike.base", sl.Base, ptr(0))
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	peak, err := b.vus("load.spike.peak", sl.Peak, nil)
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	at, err := b.duration("load.spike.at", sl.At, durOpt{})
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	hold, err := b.duration("load.spike.hold", sl.Hold, durOpt{positive: true})
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	total, err := b.duration("load.spike.duration", sl.Duration, durOpt{positive: true})
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	if at > total || hold > total-at {
		return pattern.Pattern{}, "", b.r.errorAt("load.spike.duration", fmt.Sprintf("%s is shorter than at + hold", total))
	}
	return pattern.Spike(base, peak, at, hold, total),
		fmt.Sprintf("spike %d→%d VUs at %s for %s", base, peak, at, hold), nil
}

// DefaultExternalMaxVUs caps an external load that names no max_vus.
const DefaultExternalMaxVUs = 1000

func (b *builder) externalLoad(el *ExternalLoad) (string, error) {
	maxVUs, err := b.vus("load.external.max_vus", el.MaxVUs, ptr(DefaultExternalMaxVUs))
	if err != nil {
		return "", err
	}
	if maxVUs == 0 {
		return "", b.r.errorAt("load.external.max_vus", "must be > 0")
	}
	vus, err := b.vus("load.external.vus", el.VUs, ptr(0))
	if err != nil {
		return "", err
	}
	if vus > maxVUs {
		return "", b.r.errorAt("load.external.vus", fmt.Sprintf("%d is more than max_vus %d", vus, maxVUs))
	}
	d, err := b.duration("load.external.duration", el.Duration, durOpt{def: ptr(time.Duration(0))})
	if err != nil {
		return "", err
	}
	b.external = &pattern.ExternalLoad{InitialVUs: vus, MaxVUs: maxVUs, Duration: d}
	until := "until told done or stopped"
	if d > 0 {
		until = "for " + d.String()
	}
	return fmt.Sprintf("external: %d VUs at first, at most %d, %s", vus, maxVUs, until), nil
}

// DefaultMaxDuration bounds a run of shared iterations that gives no max_duration (k6's default).
const DefaultMaxDuration = 10 * time.Minute

// iterations is the shared-iterations load: VUs run until the plan's
// iterations are made (each worker makes its share and says so), or until
// max_duration.
func (b *builder) iterations(l Load) (pattern.Pattern, string, error) {
	if l.Duration != nil {
		return pattern.Pattern{}, "", b.r.errorAt("load.duration", "with iterations, give max_duration (the most the run may last)")
	}
	n := *l.Iterations
	if n < 1 {
		return pattern.Pattern{}, "", b.r.errorAt("load.iterations", fmt.Sprintf("must be > 0, got %d", n))
	}
	vus, err := b.vus("load.vus", l.VUs, ptr(1))
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	if vus == 0 {
		return pattern.Pattern{}, "", b.r.errorAt("load.vus", "must be > 0 to make iterations")
	}
	d, err := b.duration("load.max_duration", l.MaxDuration, durOpt{def: ptr(DefaultMaxDuration), positive: true})
	if err != nil {
		return pattern.Pattern{}, "", err
	}
	return pattern.Constant(min(vus, n), d), fmtIterations(n, min(vus, n), d), nil
}
