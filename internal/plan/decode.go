package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ReadFile reads and parses the plan file at path.
func ReadFile(path string) (*Raw, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes a plan document. filename names it in errors, and @file bodies
// are read relative to its directory. Unknown keys, values of the wrong type and
// durations without a unit are errors naming the field and its line.
func Parse(data []byte, filename string) (raw *Raw, err error) {
	if filename == "" {
		filename = "plan"
	}
	defer func() {
		// The YAML library has panicked on crafted input in the past; a bad plan
		// must stay a usage error.
		if p := recover(); p != nil {
			raw, err = nil, &Error{Where: filename, Msg: oneLine(fmt.Sprintf("invalid YAML: %v", p))}
		}
	}()
	r := New()
	r.File = filename
	r.dir = filepath.Dir(filename)

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Where: filename, Msg: "the plan is empty"}
		}
		return nil, yamlError(filename, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(filename, data, err)
		}
		return nil, &Error{Where: filename + ":" + strconv.Itoa(extra.Line), Msg: "a plan is one YAML document; found a second"}
	}
	r.Node = &doc
	d := &decoder{r: r, merging: map[*yaml.Node]bool{}}
	if err := d.plan(&doc); err != nil {
		return nil, err
	}
	return r, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError turns a YAML syntax error into file:line: message on one line.
func yamlError(filename string, data []byte, err error) error {
	msg := oneLine(err.Error())
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		msg = m[2]
		line, _ := strconv.Atoi(m[1])
		line = yamlErrorLine(line, msg)
		// The YAML library refuses a '?' inside an unquoted value in {…} or […],
		// as in {path: /delay?ms=20}; say how to write it.
		// It may report the line before the value's.
		if src := sourceLine(data, line) + sourceLine(data, line+1); strings.ContainsAny(src, "{[") && strings.Contains(src, "?") {
			msg += " (inside {…} or […], quote a value that holds a '?': '/delay?ms=20')"
		}
		return &Error{Where: filename + ":" + strconv.Itoa(line), Msg: msg}
	}
	return &Error{Where: filename, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// sourceLine is line n (from 1) of data, or "".
func sourceLine(data []byte, n int) string {
	for i := 1; len(data) > 0; i++ {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if i == n {
			return string(line)
		}
		data = rest
	}
	return ""
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// maxVisits bounds how many nodes a plan may expand to through aliases, so a
// small file cannot make the decoder walk billions of nodes.
const maxVisits = 1 << 20

type decoder struct {
	r       *Raw
	visits  int
	merging map[*yaml.Node]bool // mappings being merged, to refuse a merge into itself
}

type field struct {
	name   string
	decode func(n *yaml.Node, path string) error
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) error {
	where := d.r.File + ":" + strconv.Itoa(n.Line)
	if path != "" {
		where += ": " + path
	}
	return &Error{Where: where, Msg: fmt.Sprintf(format, args...)}
}

// resolve follows an alias to its node and counts the visit.
func (d *decoder) resolve(n *yaml.Node) (*yaml.Node, error) {
	d.visits++
	if d.visits > maxVisits {
		return nil, d.fail(n, "", "the plan expands to more than %d nodes through aliases", maxVisits)
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias, nil
	}
	return n, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	case yaml.DocumentNode:
		return "a document"
	}
	return "something else"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

type pair struct{ key, value *yaml.Node }

// mappingPairs resolves n and returns its pairs in order: none for a null,
// an error saying what was wanted for anything but a mapping.
func (d *decoder) mappingPairs(n *yaml.Node, path, want string) ([]pair, error) {
	n, err := d.resolve(n)
	if err != nil {
		return nil, err
	}
	if isNull(n) {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, d.fail(n, path, "want %s, got %s", want, kindName(n))
	}
	return d.pairs(n, path)
}

// mapping decodes a mapping with the given fields; a null counts as empty.
func (d *decoder) mapping(n *yaml.Node, path string, fields []field) error {
	pairs, err := d.mappingPairs(n, path, "a mapping")
	if err != nil {
		return err
	}
	for _, p := range pairs {
		child := join(path, p.key.Value)
		f := findField(fields, p.key.Value)
		if f == nil {
			names := make([]string, len(fields))
			for i, f := range fields {
				names[i] = f.name
			}
			return d.fail(p.key, child, "unknown field (want one of %s)", strings.Join(names, ", "))
		}
		d.r.lines[child] = p.key.Line
		if err := f.decode(p.value, child); err != nil {
			return err
		}
	}
	return nil
}

func findField(fields []field, name string) *field {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	return nil
}

// pairs lists a mapping's key/value pairs in order, with YAML merge keys (<<)
// expanded: keys written in the mapping win over merged ones, and earlier
// merges over later ones. A key written twice is an error.
func (d *decoder) pairs(n *yaml.Node, path string) ([]pair, error) {
	if d.merging[n] {
		return nil, d.fail(n, path, "a merge (<<) includes the mapping itself")
	}
	d.merging[n] = true
	defer delete(d.merging, n)

	var own, merged []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		k, err := d.resolve(k)
		if err != nil {
			return nil, err
		}
		if k.Kind != yaml.ScalarNode {
			return nil, d.fail(k, path, "want a text key, got %s", kindName(k))
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			m, err := d.mergeSources(v, path)
			if err != nil {
				return nil, err
			}
			merged = append(merged, m...)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			return nil, d.fail(k, join(path, k.Value), "given twice (first at line %d)", line)
		}
		seen[k.Value] = k.Line
		own = append(own, pair{k, v})
	}
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; !ok {
			seen[p.key.Value] = p.key.Line
			own = append(own, p)
		}
	}
	return own, nil
}

// mergeSources expands the value of a merge key: a mapping or a list of them.
func (d *decoder) mergeSources(v *yaml.Node, path string) ([]pair, error) {
	v, err := d.resolve(v)
	if err != nil {
		return nil, err
	}
	var sources []*yaml.Node
	switch v.Kind {
	case yaml.MappingNode:
		sources = []*yaml.Node{v}
	case yaml.SequenceNode:
		sources = v.Content
	default:
		return nil, d.fail(v, path, "a merge (<<) wants a mapping or a list of mappings, got %s", kindName(v))
	}
	var out []pair
	for _, s := range sources {
		s, err := d.resolve(s)
		if err != nil {
			return nil, err
		}
		if s.Kind != yaml.MappingNode {
			return nil, d.fail(s, path, "a merge (<<) wants a mapping or a list of mappings, got %s", kindName(s))
		}
		ps, err := d.pairs(s, path)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

// sequence calls item for each element of a list; a null is an empty list.
// It returns the list's length, or -1 when it was null.
func (d *decoder) sequence(n *yaml.Node, path string, item func(n *yaml.Node, path string) error) (int, error) {
	n, err := d.resolve(n)
	if err != nil {
		return 0, err
	}
	if isNull(n) {
		return -1, nil
	}
	if n.Kind != yaml.SequenceNode {
		return 0, d.fail(n, path, "want a list, got %s", kindName(n))
	}
	for i, e := range n.Content {
		p := index(path, i)
		d.r.lines[p] = e.Line
		if err := item(e, p); err != nil {
			return 0, err
		}
	}
	return len(n.Content), nil
}

// scalar returns the text of a scalar node; ok is false for a null.
func (d *decoder) scalar(n *yaml.Node, path string) (s string, ok bool, err error) {
	n, err = d.resolve(n)
	if err != nil {
		return "", false, err
	}
	if isNull(n) {
		return "", false, nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", false, d.fail(n, path, "want a single value, got %s", kindName(n))
	}
	return n.Value, true, nil
}

func (d *decoder) str(dst *string) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		s, _, err := d.scalar(n, path)
		*dst = s
		return err
	}
}

// typed decodes a scalar with parse into *dst; a null leaves *dst nil.
func typed[T any](d *decoder, dst **T, parse func(string) (T, error)) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		s, ok, err := d.scalar(n, path)
		if err != nil || !ok {
			*dst = nil
			return err
		}
		v, err := parse(s)
		if err != nil {
			return d.fail(n, path, "%s", err.Error())
		}
		*dst = &v
		return nil
	}
}

func (d *decoder) plan(doc *yaml.Node) error {
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if r, err := d.resolve(root); err != nil {
		return err
	} else if isNull(r) {
		return d.fail(r, "", "the plan is empty")
	}
	r := d.r
	d.r.lines[""] = root.Line
	return d.mapping(root, "", append([]field{
		{"name", d.str(&r.Name)},
		{"base_url", d.str(&r.BaseURL)},
		{"headers", d.headers(&r.Headers)},
		{"scenario", d.scenario(&r.Scenario)},
		{"load", d.load(&r.Load)},
		{"think", d.think(&r.Think)},
		{"rps_limit", typed(d, &r.RPSLimit, parseNumber)},
		{"timeout", typed(d, &r.Timeout, parseDuration)},
		{"http_client", d.str(&r.HTTPClient)},
		{"thresholds", d.thresholds(&r.Thresholds)},
		{"http_version", d.str(&r.HTTPVersion)},
		{"keepalive", typed(d, &r.KeepAlive, parseBool)},
		{"tls", d.tls(&r.TLS)},
	}, d.scenarioFields(r)...))
}

// headers decodes a mapping of header names to values, keeping their order.
func (d *decoder) headers(dst *[][2]string) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		pairs, err := d.mappingPairs(n, path, "a mapping of header names to values")
		if err != nil {
			return err
		}
		*dst = (*dst)[:0]
		for _, p := range pairs {
			child := join(path, p.key.Value)
			d.r.lines[child] = p.key.Line
			v, _, err := d.scalar(p.value, child)
			if err != nil {
				return err
			}
			*dst = append(*dst, [2]string{p.key.Value, v})
		}
		return nil
	}
}

func (d *decoder) scenario(s *Scenario) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		return d.mapping(n, path, []field{
			{"setup", d.requests(&s.Setup)},
			{"tasks", d.tasks(&s.Tasks)},
			{"teardown", d.requests(&s.Teardown)},
		})
	}
}

func (d *decoder) requests(dst *[]Request) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		*dst = nil
		_, err := d.sequence(n, path, func(e *yaml.Node, p string) error {
			var q Request
			if err := d.request(&q)(e, p); err != nil {
				return err
			}
			*dst = append(*dst, q)
			return nil
		})
		return err
	}
}

func (d *decoder) request(q *Request) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		q.dir = d.r.dir
		if e, err := d.resolve(n); err != nil {
			return err
		} else if e.Kind != yaml.MappingNode {
			return d.fail(e, path, "want a request mapping (name, method, path or url, headers, body), got %s", kindName(e))
		}
		return d.mapping(n, path, append([]field{
			{"name", d.str(&q.Name)},
			{"method", d.str(&q.Method)},
			{"path", d.str(&q.Path)},
			{"url", d.str(&q.URL)},
			{"headers", d.headers(&q.Headers)},
			{"body", d.str(&q.Body)},
		}, d.requestFields(q)...))
	}
}

func (d *decoder) tasks(dst *[]Task) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		*dst = nil
		_, err := d.sequence(n, path, func(e *yaml.Node, p string) error {
			var t Task
			var one *Request
			gotList := false
			err := d.mapping(e, p, []field{
				{"name", d.str(&t.Name)},
				{"weight", typed(d, &t.Weight, parseInt)},
				{"requests", func(n *yaml.Node, path string) error {
					gotList = true
					return d.requests(&t.Requests)(n, path)
				}},
				{"request", func(n *yaml.Node, path string) error {
					one = &Request{}
					return d.request(one)(n, path)
				}},
			})
			if err != nil {
				return err
			}
			if one != nil {
				if gotList {
					return d.r.errorAt(p+".request", "give request or requests, not both")
				}
				if one.Name == "" {
					one.Name = t.Name // a task's name names its one request
				}
				t.Requests = []Request{*one}
				t.single = true
			}
			*dst = append(*dst, t)
			return nil
		})
		return err
	}
}

func (d *decoder) load(l *Load) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		return d.mapping(n, path, []field{
			{"vus", typed(d, &l.VUs, parseInt)},
			{"duration", typed(d, &l.Duration, parseDuration)},
			{"stages", d.stages(&l.Stages)},
			{"ramp", func(n *yaml.Node, path string) error {
				l.Ramp = &RampLoad{}
				return d.mapping(n, path, []field{
					{"from", typed(d, &l.Ramp.From, parseInt)},
					{"to", typed(d, &l.Ramp.To, parseInt)},
					{"duration", typed(d, &l.Ramp.Duration, parseDuration)},
				})
			}},
			{"step", func(n *yaml.Node, path string) error {
				l.Step = &StepLoad{}
				return d.mapping(n, path, []field{
					{"start", typed(d, &l.Step.Start, parseInt)},
					{"step", typed(d, &l.Step.Step, parseInt)},
					{"every", typed(d, &l.Step.Every, parseDuration)},
					{"steps", typed(d, &l.Step.Steps, parseInt)},
				})
			}},
			{"spike", func(n *yaml.Node, path string) error {
				l.Spike = &SpikeLoad{}
				return d.mapping(n, path, []field{
					{"base", typed(d, &l.Spike.Base, parseInt)},
					{"peak", typed(d, &l.Spike.Peak, parseInt)},
					{"at", typed(d, &l.Spike.At, parseDuration)},
					{"hold", typed(d, &l.Spike.Hold, parseDuration)},
					{"duration", typed(d, &l.Spike.Duration, parseDuration)},
				})
			}},
			{"external", func(n *yaml.Node, path string) error {
				l.External = &ExternalLoad{}
				return d.mapping(n, path, []field{
					{"vus", typed(d, &l.External.VUs, parseInt)},
					{"max_vus", typed(d, &l.External.MaxVUs, parseInt)},
					{"duration", typed(d, &l.External.Duration, parseDuration)},
				})
			}},
			{"graceful_stop", typed(d, &l.GracefulStop, parseDuration)},
			{"iterations", typed(d, &l.Iterations, parseInt)},
			{"max_duration", typed(d, &l.MaxDuration, parseDuration)},
			{"rate", typed(d, &l.Rate, parseNumber)},
			{"rate_stages", d.rateStages(&l.RateStages)},
			{"max_vus", typed(d, &l.MaxVUs, parseInt)},
			{"pre_allocated_vus", typed(d, &l.PreAllocatedVUs, parseInt)},
		})
	}
}

// rateStages decodes a list of {duration, target} mappings or
// "DURATION:RATE" strings. A given but empty list stays non-nil.
func (d *decoder) rateStages(dst *[]RateStage) func(*yaml.Node, string) error {
	return stageList(d, dst, parseRateStage, func(st *RateStage) []field {
		return []field{
			{"duration", typed(d, &st.Duration, parseDuration)},
			{"target", typed(d, &st.Target, parseNumber)},
		}
	})
}

// stages decodes a list of {duration, target} mappings or "DURATION:TARGET"
// strings. A given but empty list stays non-nil, so that it counts as given.
func (d *decoder) stages(dst *[]Stage) func(*yaml.Node, string) error {
	return stageList(d, dst, parseStage, func(st *Stage) []field {
		return []field{
			{"duration", typed(d, &st.Duration, parseDuration)},
			{"target", typed(d, &st.Target, parseInt)},
		}
	})
}

// stageList decodes a list whose entries are either a mapping (decoded with
// the fields fields gives for the entry) or a one-line text form (parsed by
// parseText).
func stageList[S any](d *decoder, dst *[]S, parseText func(string) (S, error), fields func(*S) []field) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		out := []S{}
		_, err := d.sequence(n, path, func(e *yaml.Node, p string) error {
			e, err := d.resolve(e)
			if err != nil {
				return err
			}
			var st S
			if e.Kind == yaml.ScalarNode && !isNull(e) {
				if st, err = parseText(e.Value); err != nil {
					return d.fail(e, p, "%s", err.Error())
				}
			} else if err := d.mapping(e, p, fields(&st)); err != nil {
				return err
			}
			out = append(out, st)
			return nil
		})
		*dst = out
		return err
	}
}

func (d *decoder) think(dst **Think) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		e, err := d.resolve(n)
		if err != nil {
			return err
		}
		if e.Kind == yaml.MappingNode {
			var lo, hi *time.Duration
			if err := d.mapping(e, path, []field{
				{"min", typed(d, &lo, parseDuration)},
				{"max", typed(d, &hi, parseDuration)},
			}); err != nil {
				return err
			}
			t := Think{}
			if lo != nil {
				t.Min, t.Max = *lo, *lo
			}
			if hi != nil {
				t.Max = *hi
			}
			*dst = &t
			return nil
		}
		return typed(d, dst, parseThink)(n, path)
	}
}

// Value parsers, shared by the plan file and the overrides. Their errors are
// messages without a location; callers add where the value came from.

func parseInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("want a whole number, got %q", s)
	}
	return n, nil
}

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f != f || f > 1e300 || f < -1e300 {
		return 0, fmt.Errorf("want a number, got %q", s)
	}
	return f, nil
}

var bareNumber = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)$`)

// parseDuration reads a Go duration ("30s", "1m30s", "500ms"). A bare number
// other than 0 is an error: it would silently be nanoseconds.
func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if t == "0" {
		return 0, nil
	}
	if bareNumber.MatchString(t) {
		return 0, fmt.Errorf("%s has no unit (write %ss)", t, t)
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("want a duration like 30s, 1m30s or 500ms, got %q", s)
	}
	return d, nil
}

// parseThink reads "MIN-MAX" or a single duration.
func parseThink(s string) (Think, error) {
	t := strings.TrimSpace(s)
	// A leading minus belongs to the first duration, not the separator.
	if i := strings.Index(strings.TrimLeft(t, "+-"), "-"); i >= 0 {
		i += len(t) - len(strings.TrimLeft(t, "+-"))
		lo, err := parseDuration(t[:i])
		if err != nil {
			return Think{}, fmt.Errorf("min: %w", err)
		}
		hi, err := parseDuration(t[i+1:])
		if err != nil {
			return Think{}, fmt.Errorf("max: %w", err)
		}
		return Think{Min: lo, Max: hi}, nil
	}
	d, err := parseDuration(t)
	if err != nil {
		return Think{}, err
	}
	return Think{Min: d, Max: d}, nil
}

// parseRateStage reads "DURATION:RATE", as --rate-stage and list items in rate_stages take it.
func parseRateStage(s string) (RateStage, error) {
	ds, rs, ok := strings.Cut(s, ":")
	if !ok {
		return RateStage{}, errors.New("want DURATION:RATE, like 30s:200")
	}
	d, err := parseDuration(ds)
	if err != nil {
		return RateStage{}, fmt.Errorf("duration: %w", err)
	}
	r, err := parseNumber(rs)
	if err != nil {
		return RateStage{}, fmt.Errorf("rate: %w", err)
	}
	return RateStage{Duration: &d, Target: &r}, nil
}

// parseStage reads "DURATION:TARGET", as --stage and list items in stages take it.
func parseStage(s string) (Stage, error) {
	ds, ns, ok := strings.Cut(s, ":")
	if !ok {
		return Stage{}, errors.New("want DURATION:TARGET, like 30s:100")
	}
	d, err := parseDuration(ds)
	if err != nil {
		return Stage{}, fmt.Errorf("duration: %w", err)
	}
	n, err := parseInt(ns)
	if err != nil {
		return Stage{}, fmt.Errorf("target: %w", err)
	}
	return Stage{Duration: &d, Target: &n}, nil
}
