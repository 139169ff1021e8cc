package plan

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/loadforge/loadforge/internal/scenario"
	"github.com/loadforge/loadforge/schemas"
)

// DataDecl is a data set as written: data: {NAME: {file, pick, when_done}}.
type DataDecl struct {
	Name     string
	File     string
	Pick     string
	WhenDone string
	path     string // its field path, for errors
}

// ExtractDecl is one entry of a request's extract.
type ExtractDecl struct {
	Name string
	From string
	Expr string
}

// checkKinds are the keys that make a check what it is.
var checkKinds = []string{scenario.CheckStatus, scenario.CheckJSON, scenario.CheckBodyContains, scenario.CheckHeader, scenario.CheckLatencyUnder}

// scenarioFields are the plan's top-level keys for scenarios.
func (d *decoder) scenarioFields(r *Raw) []field {
	return []field{
		{"vars", d.headers(&r.Vars)},
		{"data", d.dataSets(&r.Data)},
		{"cookies", typed(d, &r.Cookies, parseBool)},
	}
}

// requestFields are a request's keys for scenarios.
func (d *decoder) requestFields(q *Request) []field {
	return []field{
		{"query", d.headers(&q.Query)},
		{"json", d.jsonBody(&q.JSON)},
		{"timeout", typed(d, &q.Timeout, parseDuration)},
		{"extract", d.extracts(&q.Extract)},
		{"checks", d.checks(&q.Checks)},
	}
}

// parseBool reads true or false (also yes/no, on/off, and the spellings strconv knows).
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	}
	if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
		return b, nil
	}
	return false, fmt.Errorf("want true or false, got %q", s)
}

func (d *decoder) dataSets(dst *[]DataDecl) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		pairs, err := d.mappingPairs(n, path, "a mapping of data set names to {file, pick, when_done}")
		if err != nil {
			return err
		}
		for _, p := range pairs {
			child := join(path, p.key.Value)
			d.r.lines[child] = p.key.Line
			decl := DataDecl{Name: p.key.Value, path: child}
			if err := d.mapping(p.value, child, []field{
				{"file", d.str(&decl.File)},
				{"pick", d.str(&decl.Pick)},
				{"when_done", d.str(&decl.WhenDone)},
			}); err != nil {
				return err
			}
			*dst = append(*dst, decl)
		}
		return nil
	}
}

// jsonBody turns a YAML value into the JSON text of a body.
func (d *decoder) jsonBody(dst *string) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		n, err := d.resolve(n)
		if err != nil {
			return err
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return d.fail(n, path, "%s", schemas.OneLine(err.Error()))
		}
		b, err := json.Marshal(jsonable(v))
		if err != nil {
			return d.fail(n, path, "cannot be JSON: %s", schemas.OneLine(err.Error()))
		}
		*dst = string(b)
		return nil
	}
}

// jsonable turns YAML's map[any]any (non-text keys) into what JSON takes.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
	}
	return v
}

func (d *decoder) extracts(dst *[]ExtractDecl) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		pairs, err := d.mappingPairs(n, path, "a mapping of names to {json|header|regex|cookie: …}")
		if err != nil {
			return err
		}
		for _, p := range pairs {
			child := join(path, p.key.Value)
			d.r.lines[child] = p.key.Line
			e := ExtractDecl{Name: p.key.Value}
			var fields []field
			for _, from := range []string{scenario.FromJSON, scenario.FromHeader, scenario.FromRegex, scenario.FromCookie} {
				fields = append(fields, field{from, func(n *yaml.Node, path string) error {
					if e.From != "" {
						return d.fail(n, path, "give one of json, header, regex, cookie; %s is given too", e.From)
					}
					e.From = from
					return d.str(&e.Expr)(n, path)
				}})
			}
			if err := d.mapping(p.value, child, fields); err != nil {
				return err
			}
			if e.From == "" {
				return d.fail(p.key, child, "give one of json, header, regex, cookie")
			}
			*dst = append(*dst, e)
		}
		return nil
	}
}

func (d *decoder) checks(dst *[]schemas.Check) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		*dst = nil
		_, err := d.sequence(n, path, func(e *yaml.Node, p string) error {
			var c schemas.Check
			var ops []string
			var contains *string
			var latency *time.Duration
			var kinds []string
			op := func(name string) field {
				return field{name, func(n *yaml.Node, path string) error {
					ops = append(ops, name)
					c.Op = name
					return d.str(&c.Value)(n, path)
				}}
			}
			kind := func(name string, f func(n *yaml.Node, path string) error) field {
				return field{name, func(n *yaml.Node, path string) error {
					kinds = append(kinds, name)
					c.Kind = name
					return f(n, path)
				}}
			}
			fields := []field{
				{"name", d.str(&c.Name)},
				kind(scenario.CheckStatus, d.statusCodes(&c.Status)),
				kind(scenario.CheckJSON, d.str(&c.Path)),
				kind(scenario.CheckBodyContains, d.str(&c.Value)),
				kind(scenario.CheckHeader, d.str(&c.Path)),
				kind(scenario.CheckLatencyUnder, typed(d, &latency, parseDuration)),
				{"contains", func(n *yaml.Node, path string) error {
					s, _, err := d.scalar(n, path)
					contains = &s
					return err
				}},
			}
			for _, o := range scenario.JSONOps() {
				if o != "contains" {
					fields = append(fields, op(o))
				}
			}
			if err := d.mapping(e, p, fields); err != nil {
				return err
			}
			switch {
			case len(kinds) == 0:
				return d.fail(e, p, "a check needs one of %s", strings.Join(checkKinds, ", "))
			case len(kinds) > 1:
				return d.r.errorAt(p+"."+kinds[1], fmt.Sprintf("a check checks one thing; %s is given too", kinds[0]))
			}
			if contains != nil {
				switch c.Kind {
				case scenario.CheckJSON, scenario.CheckHeader:
					ops = append(ops, "contains")
					c.Op, c.Value = "contains", *contains
				default:
					return d.r.errorAt(p+".contains", "contains goes with json or header")
				}
			}
			switch {
			case c.Kind == scenario.CheckJSON && len(ops) == 0:
				return d.r.errorAt(p+".json", "a json check needs one of "+strings.Join(scenario.JSONOps(), ", "))
			case c.Kind == scenario.CheckJSON && len(ops) > 1:
				return d.r.errorAt(p+"."+ops[1], fmt.Sprintf("a json check makes one comparison; %s is given too", ops[0]))
			case c.Kind != scenario.CheckJSON && len(ops) > 0 && !(c.Kind == scenario.CheckHeader && c.Op == "contains"):
				return d.r.errorAt(p+"."+ops[0], "goes with a json check")
			}
			if c.Kind == scenario.CheckHeader {
				c.Op = "" // header checks always mean contains (empty: present)
			}
			if latency != nil {
				c.LatencyUnderNs = int64(*latency)
			}
			*dst = append(*dst, c)
			return nil
		})
		return err
	}
}

// statusCodes decodes a status code or a list of them.
func (d *decoder) statusCodes(dst *[]int) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		e, err := d.resolve(n)
		if err != nil {
			return err
		}
		one := func(n *yaml.Node, path string) error {
			s, _, err := d.scalar(n, path)
			if err != nil {
				return err
			}
			v, err := parseInt(s)
			if err != nil {
				return d.fail(n, path, "%s", err.Error())
			}
			*dst = append(*dst, v)
			return nil
		}
		if e.Kind == yaml.SequenceNode {
			_, err := d.sequence(e, path, one)
			return err
		}
		return one(e, path)
	}
}

// scenarioBuild is what the builder knows of a plan's scenario machinery.
type scenarioBuild struct {
	names scenario.Names
	uses  []RequestUses
}

// RequestUses lists what one request's templates name, and where each comes from.
type RequestUses struct {
	Request string   // the request's name
	Names   []string // "token (extract)", "users.name (data)"
}

// scenarioSpec reads the data files, gathers the names templates may use and
// fills the spec's vars, data, cookies and iterations.
func (b *builder) scenarioSpec(spec *schemas.RunSpec) error {
	r := b.r
	sb := &b.scn
	sb.names = scenario.Names{Vars: map[string]bool{}, Extracted: map[string]bool{}, Sets: map[string][]string{}}
	builtin := func(name string) bool {
		return name == scenario.NameVU || name == scenario.NameIteration || name == scenario.NameWorker
	}
	for _, v := range r.Vars {
		p := "vars." + v[0]
		if !scenario.ValidName(v[0]) || builtin(v[0]) {
			return r.errorAt(p, fmt.Sprintf("%q cannot name a variable (letters, digits and _; not vu, iteration or worker)", v[0]))
		}
		if scenario.IsTemplate(v[1]) {
			return r.errorAt(p, "vars are plain values, not templates")
		}
		sb.names.Vars[v[0]] = true
		spec.Vars = append(spec.Vars, v)
	}
	budget := int64(scenario.MaxDataBytes)
	for _, ds := range r.Data {
		if !scenario.ValidName(ds.Name) || builtin(ds.Name) || sb.names.Vars[ds.Name] {
			return r.errorAt(ds.path, fmt.Sprintf("%q cannot name a data set (letters, digits and _; not a var, vu, iteration or worker)", ds.Name))
		}
		out := schemas.DataSet{Name: ds.Name, Pick: ds.Pick, WhenDone: ds.WhenDone}
		if out.Pick == "" {
			out.Pick = schemas.PickPerVU
		}
		switch out.Pick {
		case schemas.PickPerVU, schemas.PickPerIteration, schemas.PickRandom:
		default:
			return r.errorAt(ds.path+".pick", fmt.Sprintf("want per_vu, per_iteration or random, got %q", ds.Pick))
		}
		if out.WhenDone == "" {
			out.WhenDone = schemas.WhenDoneCycle
		}
		switch out.WhenDone {
		case schemas.WhenDoneCycle, schemas.WhenDoneStop:
		default:
			return r.errorAt(ds.path+".when_done", fmt.Sprintf("want cycle or stop, got %q", ds.WhenDone))
		}
		if out.Pick == schemas.PickRandom && out.WhenDone == schemas.WhenDoneStop {
			return r.errorAt(ds.path+".when_done", "random rows never run out; stop needs per_vu or per_iteration")
		}
		if ds.File == "" {
			return r.errorAt(ds.path, "needs a file (CSV with a header row, or .json)")
		}
		file := ds.File
		if !filepath.IsAbs(file) && r.dir != "" {
			file = filepath.Join(r.dir, file)
		}
		cols, rows, size, err := scenario.ReadDataFile(file, budget)
		if err != nil {
			return r.errorAt(ds.path+".file", schemas.OneLine(err.Error()))
		}
		budget -= size
		out.Columns, out.Rows = cols, rows
		sb.names.Sets[ds.Name] = cols
		spec.Data = append(spec.Data, out)
	}
	spec.Cookies = r.Cookies == nil || *r.Cookies
	// Every name any request extracts may be used by any template: a task may
	// use what setup or another task extracted.
	for _, q := range r.allRequests() {
		for _, e := range q.Extract {
			if builtin(e.Name) || sb.names.Vars[e.Name] {
				return r.errorAt(q.path+".extract."+e.Name, fmt.Sprintf("%q is already a var or a built-in", e.Name))
			}
			if _, ok := sb.names.Sets[e.Name]; ok {
				return r.errorAt(q.path+".extract."+e.Name, fmt.Sprintf("%q is already a data set", e.Name))
			}
			sb.names.Extracted[e.Name] = true
		}
	}
	if r.Load.Iterations != nil {
		spec.Iterations = int64(*r.Load.Iterations)
	}
	return nil
}

// allRequests lists the plan's requests with their field paths.
func (r *Raw) allRequests() []Request {
	var out []Request
	for i, q := range r.Scenario.Setup {
		q.path = index("scenario.setup", i)
		out = append(out, q)
	}
	for i, t := range r.Scenario.Tasks {
		for j, q := range t.Requests {
			q.path = index(index("scenario.tasks", i)+".requests", j)
			if t.single {
				q.path = index("scenario.tasks", i) + ".request"
			}
			out = append(out, q)
		}
	}
	for i, q := range r.Scenario.Teardown {
		q.path = index("scenario.teardown", i)
		out = append(out, q)
	}
	return out
}

var templateAction = regexp.MustCompile(`\{\{.*?\}\}`)

// untemplated stands a placeholder in for each template action, so that a
// URL with templates can be checked as a URL.
func untemplated(s string) string { return templateAction.ReplaceAllString(s, "x") }

// scenarioRequest checks a request's scenario keys against the names the
// plan knows and copies them into out.
func (b *builder) scenarioRequest(path string, q Request, out *schemas.Request) error {
	r := b.r
	names := &b.scn.names
	var used []string
	seen := map[string]bool{}
	compile := func(p, src string) error {
		t, err := scenario.Compile(src, names)
		if err != nil {
			return r.errorAt(p, err.Error())
		}
		for _, f := range t.Fields() {
			if !seen[f] {
				seen[f] = true
				root, _, _ := strings.Cut(f, ".")
				used = append(used, f+" ("+names.Source(root)+")")
			}
		}
		return nil
	}
	urlPath := path + ".url"
	if q.URL == "" {
		urlPath = path + ".path"
	}
	if err := compile(urlPath, out.URL); err != nil {
		return err
	}
	if scenario.IsTemplate(out.URL) {
		host := out.URL
		if i := strings.Index(host, "://"); i >= 0 {
			host = host[i+3:]
		}
		if j := strings.IndexAny(host, "/?#"); j >= 0 {
			host = host[:j]
		}
		if scenario.IsTemplate(host) || !strings.Contains(out.URL[:strings.Index(out.URL, host)+len(host)], "://") {
			return r.errorAt(urlPath, "the scheme and host cannot be templates (only the path and query)")
		}
	}
	for _, h := range out.Headers {
		if err := compile(path+".headers."+h[0], h[1]); err != nil {
			return err
		}
	}
	for _, kv := range q.Query {
		if scenario.IsTemplate(kv[0]) {
			return r.errorAt(path+".query."+kv[0], "a query name cannot be a template")
		}
		if err := compile(path+".query."+kv[0], kv[1]); err != nil {
			return err
		}
	}
	out.Query = q.Query
	if len(out.Body) > 0 && !strings.HasPrefix(q.Body, "@") {
		if err := compile(path+".body", string(out.Body)); err != nil {
			return err
		}
	}
	if q.JSON != "" {
		if q.Body != "" {
			return r.errorAt(path+".json", "give body or json, not both")
		}
		jb, err := scenario.CompileJSON(q.JSON, names)
		if err != nil {
			return r.errorAt(path+".json", err.Error())
		}
		for _, t := range jb.Templates() {
			if err := compile(path+".json", t.Source()); err != nil {
				return err
			}
		}
		out.JSON = q.JSON
	}
	if q.Timeout != nil {
		if *q.Timeout <= 0 {
			return r.errorAt(path+".timeout", fmt.Sprintf("must be > 0, got %s", *q.Timeout))
		}
		out.TimeoutNs = int64(*q.Timeout)
	}
	for _, e := range q.Extract {
		x := schemas.Extract{Name: e.Name, From: e.From, Expr: e.Expr}
		if _, err := scenario.CompileExtract(x); err != nil {
			return r.errorAt(path+".extract."+e.Name+"."+e.From, err.Error())
		}
		out.Extract = append(out.Extract, x)
	}
	for i, c := range q.Checks {
		p := index(path+".checks", i)
		k, err := scenario.CompileCheck(c, names)
		if err != nil {
			return r.errorAt(p, err.Error())
		}
		for _, t := range k.Templates() {
			if err := compile(p, t.Source()); err != nil {
				return err
			}
		}
		out.Checks = append(out.Checks, c)
	}
	if len(used) > 0 {
		sort.Strings(used)
		b.scn.uses = append(b.scn.uses, RequestUses{Request: out.Name, Names: used})
	}
	return nil
}

// fmtIterations describes an iterations load for people.
func fmtIterations(n, vus int, maxDur time.Duration) string {
	return strconv.Itoa(n) + " iterations shared by " + strconv.Itoa(vus) + " VUs (at most " + maxDur.String() + ")"
}
