package plan

import (
	"fmt"
	"strings"
)

// Keys of the settings that flags and the environment may override. Where the
// plan has the field, the key is its path in the plan.
const (
	KeyName         = "name"
	KeyBaseURL      = "base_url"
	KeyHeaders      = "headers" // values "Name: value", added to the default headers
	KeyURL          = "url"     // a one-request scenario that replaces the plan's
	KeyMethod       = "method"  // the method of the KeyURL request
	KeyBody         = "body"    // the body of the KeyURL request; "@file" is read from the working directory
	KeyVUs          = "load.vus"
	KeyDuration     = "load.duration"
	KeyStages       = "load.stages" // values "DURATION:TARGET"
	KeyGracefulStop = "load.graceful_stop"
	KeyThink        = "think"
	KeyTimeout      = "timeout"
	KeyRPSLimit     = "rps_limit"
	KeyHTTPClient   = "http_client"
	// KeyIterations: shared iterations (with --vus; --duration becomes their max_duration).
	KeyIterations = "load.iterations"
)

// Keys of the target's connection settings (see tls.go).
const (
	KeyHTTPVersion   = "http_version"
	KeyNoKeepAlive   = "no_keepalive" // "true" sets keepalive: false
	KeyTLSInsecure   = "tls.insecure"
	KeyTLSCA         = "tls.ca"
	KeyTLSCert       = "tls.cert"
	KeyTLSKey        = "tls.key"
	KeyTLSServerName = "tls.server_name"
	KeyTLSMinVersion = "tls.min_version"
)

var overrideKeys = []string{
	KeyName, KeyBaseURL, KeyHeaders, KeyURL, KeyMethod, KeyBody,
	KeyVUs, KeyDuration, KeyStages, KeyGracefulStop, KeyThink, KeyTimeout, KeyRPSLimit,
	KeyHTTPClient, KeyRate, KeyRateStages, KeyMaxVUs, KeyPreAllocatedVUs, KeyIterations,
	KeyThresholds,
	KeyHTTPVersion, KeyNoKeepAlive, KeyTLSInsecure, KeyTLSCA, KeyTLSCert, KeyTLSKey, KeyTLSServerName, KeyTLSMinVersion,
}

// Override is one setting given outside the plan file.
type Override struct {
	Key string
	// Values holds the value; headers and stages may have several.
	Values []string
	// Origin names where it came from in errors: "--vus", "LOADFORGE_VUS".
	Origin string
}

func (o Override) last() string {
	if len(o.Values) == 0 {
		return ""
	}
	return o.Values[len(o.Values)-1]
}

// Apply lays overrides over the plan. A load form given by override replaces
// the plan's other load forms (--vus/--duration replace stages, --stage
// replaces vus and duration, --rate and --rate-stage replace the closed
// forms; --duration alone keeps a plan's load form and sets its length, see
// stretchLoad), and a url replaces the plan's scenario with that
// one request. Values are parsed here; errors name the override's origin.
func (r *Raw) Apply(overrides []Override) error {
	if r.lines == nil {
		r.lines = map[string]int{}
	}
	if r.origins == nil {
		r.origins = map[string]string{}
	}
	by := map[string]Override{}
	for _, o := range overrides {
		known := false
		for _, k := range overrideKeys {
			known = known || k == o.Key
		}
		if !known {
			return fmt.Errorf("plan: no setting %q can be overridden", o.Key)
		}
		by[o.Key] = o
	}
	if err := loadConflicts(by); err != nil {
		return err
	}
	if _, ok := by[KeyURL]; !ok {
		for _, k := range []string{KeyMethod, KeyBody} {
			if o, ok := by[k]; ok {
				return &Error{Where: o.Origin, Msg: "applies to the one-request scenario; give its url too (--url)"}
			}
		}
	}

	if o, ok := by[KeyName]; ok {
		r.Name = o.last()
		r.set(KeyName, o.Origin)
	}
	if o, ok := by[KeyBaseURL]; ok {
		r.BaseURL = o.last()
		r.set(KeyBaseURL, o.Origin)
	}
	if o, ok := by[KeyHeaders]; ok {
		// A name given more than once is sent with each value (a repeated
		// --header, as curl does); the first replaces the plan's own.
		given := map[string]bool{}
		for _, v := range o.Values {
			name, value, found := strings.Cut(v, ":")
			name = strings.TrimSpace(name)
			if !found || name == "" {
				return &Error{Where: fmt.Sprintf("%s %q", o.Origin, v), Msg: "want 'Name: value'"}
			}
			if key := strings.ToLower(name); given[key] {
				r.Headers = append(r.Headers, [2]string{name, strings.TrimSpace(value)})
			} else {
				given[key] = true
				r.Headers = setHeader(r.Headers, name, strings.TrimSpace(value))
			}
			r.set(KeyHeaders+"."+name, o.Origin)
		}
	}
	if o, ok := by[KeyURL]; ok {
		r.oneRequest(o, by)
	}
	if err := r.applyLoad(by); err != nil {
		return err
	}
	if o, ok := by[KeyThink]; ok {
		t, err := parseThink(o.last())
		if err != nil {
			return &Error{Where: o.Origin, Msg: err.Error()}
		}
		r.Think = &t
		r.set(KeyThink, o.Origin)
	}
	if o, ok := by[KeyTimeout]; ok {
		d, err := parseDuration(o.last())
		if err != nil {
			return &Error{Where: o.Origin, Msg: err.Error()}
		}
		r.Timeout = &d
		r.set(KeyTimeout, o.Origin)
	}
	if o, ok := by[KeyRPSLimit]; ok {
		f, err := parseNumber(o.last())
		if err != nil {
			return &Error{Where: o.Origin, Msg: err.Error()}
		}
		r.RPSLimit = &f
		r.set(KeyRPSLimit, o.Origin)
	}
	if o, ok := by[KeyHTTPClient]; ok {
		r.HTTPClient = o.last()
		r.set(KeyHTTPClient, o.Origin)
	}
	if o, ok := by[KeyThresholds]; ok {
		r.applyThresholds(o)
	}
	return r.applyConnection(by)
}

// set records that path (and everything under it) now comes from origin.
func (r *Raw) set(path, origin string) {
	r.forget(path)
	r.origins[path] = origin
}

// setHeader replaces a header of the same name (without case) or appends it.
func setHeader(hs [][2]string, name, value string) [][2]string {
	for i := range hs {
		if strings.EqualFold(hs[i][0], name) {
			hs[i] = [2]string{name, value}
			return hs
		}
	}
	return append(hs, [2]string{name, value})
}

// oneRequest replaces the scenario with the single request of a url override.
// A url that starts with "/" is a path joined to base_url.
func (r *Raw) oneRequest(u Override, by map[string]Override) {
	q := Request{}
	if v := u.last(); strings.HasPrefix(v, "/") {
		q.Path = v
	} else {
		q.URL = v
	}
	if o, ok := by[KeyMethod]; ok {
		q.Method = o.last()
	}
	if o, ok := by[KeyBody]; ok {
		q.Body = o.last()
	}
	r.Scenario = Scenario{Tasks: []Task{{Name: "request", Requests: []Request{q}}}}
	r.set("scenario", u.Origin)
	req := "scenario.tasks[0].requests[0]"
	r.origins[req+".url"] = u.Origin
	r.origins[req+".path"] = u.Origin
	for key, field := range map[string]string{KeyMethod: ".method", KeyBody: ".body"} {
		if o, ok := by[key]; ok {
			r.origins[req+field] = o.Origin
		}
	}
}

func (r *Raw) applyLoad(by map[string]Override) error {
	l := &r.Load
	if o, ok := by[KeyGracefulStop]; ok {
		d, err := parseDuration(o.last())
		if err != nil {
			return &Error{Where: o.Origin, Msg: err.Error()}
		}
		l.GracefulStop = &d
		r.set(KeyGracefulStop, o.Origin)
	}
	if err := r.applyOpenLoad(by); err != nil {
		return err
	}
	vus, hasVUs := by[KeyVUs]
	dur, hasDur := by[KeyDuration]
	if it, ok := by[KeyIterations]; ok {
		return r.applyIterations(it, by)
	}
	if hasDur && l.Iterations != nil {
		// A duration turns a plan of shared iterations into a timed run.
		l.Iterations, l.MaxDuration = nil, nil
		r.forget(KeyIterations)
		r.forget("load.max_duration")
	}
	if _, hasRate := by[KeyRate]; hasDur && !hasVUs && !hasRate {
		d, err := parseDuration(dur.last())
		if err != nil {
			return &Error{Where: dur.Origin, Msg: err.Error()}
		}
		if stretched, err := r.stretchLoad(dur, d); err != nil || stretched {
			return err
		}
	}
	if hasVUs || (hasDur && !r.durationKeepsRate(by)) {
		// vus and duration replace any other load form of the plan.
		l.Stages, l.Ramp, l.Step, l.Spike, l.External = nil, nil, nil, nil, nil
		for _, p := range []string{"load.stages", "load.ramp", "load.step", "load.spike", "load.external"} {
			r.forget(p)
		}
		r.dropOpenLoad(by)
	}
	if hasVUs {
		n, err := parseInt(vus.last())
		if err != nil {
			return &Error{Where: vus.Origin, Msg: err.Error()}
		}
		l.VUs = &n
		r.set(KeyVUs, vus.Origin)
	}
	if hasDur {
		d, err := parseDuration(dur.last())
		if err != nil {
			return &Error{Where: dur.Origin, Msg: err.Error()}
		}
		l.Duration = &d
		r.set(KeyDuration, dur.Origin)
	}
	if st, ok := by[KeyStages]; ok {
		r.dropOpenLoad(by)
		l.VUs, l.Duration, l.Ramp, l.Step, l.Spike, l.External = nil, nil, nil, nil, nil, nil
		for _, p := range []string{KeyVUs, KeyDuration, "load.ramp", "load.step", "load.spike", "load.external"} {
			r.forget(p)
		}
		r.set(KeyStages, st.Origin)
		l.Stages = []Stage{}
		for i, v := range st.Values {
			where := fmt.Sprintf("%s %q", st.Origin, v)
			s, err := parseStage(v)
			if err != nil {
				return &Error{Where: where, Msg: err.Error()}
			}
			l.Stages = append(l.Stages, s)
			r.origins[index(KeyStages, i)] = where
		}
	}
	return nil
}

// applyIterations makes the load shared iterations: --iterations with --vus
// (or the plan's vus), and --duration as their max_duration.
func (r *Raw) applyIterations(it Override, by map[string]Override) error {
	l := &r.Load
	n, err := parseInt(it.last())
	if err != nil {
		return &Error{Where: it.Origin, Msg: err.Error()}
	}
	r.dropOpenLoad(by)
	l.Stages, l.Ramp, l.Step, l.Spike, l.External, l.Duration = nil, nil, nil, nil, nil, nil
	for _, p := range []string{"load.stages", "load.ramp", "load.step", "load.spike", "load.external", KeyDuration} {
		r.forget(p)
	}
	l.Iterations = &n
	r.set(KeyIterations, it.Origin)
	if o, ok := by[KeyVUs]; ok {
		v, err := parseInt(o.last())
		if err != nil {
			return &Error{Where: o.Origin, Msg: err.Error()}
		}
		l.VUs = &v
		r.set(KeyVUs, o.Origin)
	}
	if o, ok := by[KeyDuration]; ok {
		d, err := parseDuration(o.last())
		if err != nil {
			return &Error{Where: o.Origin, Msg: err.Error()}
		}
		l.MaxDuration = &d
		r.set("load.max_duration", o.Origin)
	}
	return nil
}
