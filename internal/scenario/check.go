package scenario

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/loadforge/loadforge/schemas"
)

// Headers is what checks and extraction read of a response's headers:
// http.Header has both methods.
type Headers interface {
	Get(name string) string
	Values(name string) []string
}

// Response is what a check or an extraction sees of one response.
type Response struct {
	Status  int
	Header  Headers
	Body    []byte
	Latency time.Duration
}

// Extractor takes one value out of a response into a VU's variable.
type Extractor struct {
	Name string
	From string // json, header, regex or cookie
	Expr string
	re   *regexp.Regexp
}

// Extract sources: the keys of an extract entry.
const (
	FromJSON   = "json"
	FromHeader = "header"
	FromRegex  = "regex"
	FromCookie = "cookie"
)

// CompileExtract checks and prepares an extraction.
func CompileExtract(e schemas.Extract) (*Extractor, error) {
	x := &Extractor{Name: e.Name, From: e.From, Expr: e.Expr}
	if !ValidName(e.Name) {
		return nil, fmt.Errorf("%q is not a name usable in a template (letters, digits and _, not starting with a digit)", e.Name)
	}
	switch e.From {
	case FromJSON:
		if err := CheckPath(e.Expr); err != nil {
			return nil, err
		}
	case FromHeader, FromCookie:
		if strings.TrimSpace(e.Expr) == "" {
			return nil, fmt.Errorf("%s: want a name", e.From)
		}
	case FromRegex:
		re, err := regexp.Compile(e.Expr)
		if err != nil {
			return nil, fmt.Errorf("bad regex: %s", schemas.OneLine(err.Error()))
		}
		x.re = re
	default:
		return nil, fmt.Errorf("want one of json, header, regex, cookie, got %q", e.From)
	}
	return x, nil
}

// NeedsBody reports whether the extraction reads the response body.
func (x *Extractor) NeedsBody() bool { return x.From == FromJSON || x.From == FromRegex }

// Extract returns the value, or ok false when the response does not hold it.
// A regex gives its first group of the first match (the whole match without a group).
func (x *Extractor) Extract(r *Response) (string, bool) {
	switch x.From {
	case FromJSON:
		res := gjson.GetBytes(r.Body, x.Expr)
		if !res.Exists() {
			return "", false
		}
		if res.Type == gjson.String {
			return res.Str, true
		}
		return res.Raw, true
	case FromHeader:
		if r.Header == nil {
			return "", false
		}
		vs := r.Header.Values(x.Expr)
		if len(vs) == 0 {
			return "", false
		}
		return vs[0], true
	case FromRegex:
		m := x.re.FindSubmatch(r.Body)
		switch {
		case m == nil:
			return "", false
		case len(m) > 1:
			return string(m[1]), true
		}
		return string(m[0]), true
	case FromCookie:
		if r.Header == nil {
			return "", false
		}
		for _, line := range r.Header.Values("Set-Cookie") {
			if c, err := http.ParseSetCookie(line); err == nil && c.Name == x.Expr {
				return c.Value, true
			}
		}
	}
	return "", false
}

// ValidName reports whether s can be named in a template as {{ .s }}.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		ok := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

// CheckPath refuses a gjson path that cannot be what was meant: empty,
// unbalanced brackets or quotes, an empty step, a trailing escape, or an
// unknown @modifier. gjson itself never fails on a path; it finds nothing.
func CheckPath(p string) error {
	if strings.TrimSpace(p) == "" {
		return fmt.Errorf("empty JSON path")
	}
	var stack []byte
	inQuote := false
	stepLen := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' {
			if i+1 == len(p) {
				return fmt.Errorf("bad JSON path %q: ends with a lone \\", p)
			}
			i++
			stepLen++
			continue
		}
		if inQuote {
			if c == '"' {
				inQuote = false
			}
			continue
		}
		switch c {
		case '"':
			inQuote = true
		case '[', '{', '(':
			stack = append(stack, c)
		case ']', '}', ')':
			open := map[byte]byte{']': '[', '}': '{', ')': '('}[c]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return fmt.Errorf("bad JSON path %q: unbalanced %q", p, c)
			}
			stack = stack[:len(stack)-1]
		case '.':
			if len(stack) == 0 {
				if stepLen == 0 && !(i > 0 && p[i-1] == ')') && !(i > 0 && p[i-1] == ']') && !(i > 0 && p[i-1] == '}') {
					return fmt.Errorf("bad JSON path %q: an empty step at %d", p, i)
				}
				stepLen = 0
				continue
			}
		case '@':
			if len(stack) == 0 && stepLen == 0 {
				name := p[i+1:]
				if j := strings.IndexAny(name, ".|:"); j >= 0 {
					name = name[:j]
				}
				if name != "this" && !gjson.ModifierExists(name, nil) {
					return fmt.Errorf("bad JSON path %q: unknown modifier @%s", p, name)
				}
			}
		}
		stepLen++
	}
	switch {
	case inQuote:
		return fmt.Errorf("bad JSON path %q: unclosed quote", p)
	case len(stack) > 0:
		return fmt.Errorf("bad JSON path %q: unclosed %q", p, stack[len(stack)-1])
	case stepLen == 0:
		return fmt.Errorf("bad JSON path %q: ends with an empty step", p)
	}
	return nil
}

// Check kinds: the key that makes an entry of checks what it is.
const (
	CheckStatus       = "status"
	CheckJSON         = "json"
	CheckBodyContains = "body_contains"
	CheckHeader       = "header"
	CheckLatencyUnder = "latency_under"
)

// Comparisons of a json check.
var jsonOps = []string{"equals", "not_equals", "contains", "matches", "exists", "gt", "gte", "lt", "lte"}

// JSONOps lists the comparisons a json check may make.
func JSONOps() []string { return jsonOps }

// Check is one compiled check.
type Check struct {
	Name  string
	Kind  string
	codes []int
	path  string
	op    string
	want  *Template // equals, not_equals, contains; header contains; body_contains
	re    *regexp.Regexp
	num   float64
	exist bool
	under time.Duration
	fixed []byte // want's text when it is static
}

// CompileCheck validates c and prepares it; its name is c.Name or one
// written from it.
func CompileCheck(c schemas.Check, names *Names) (*Check, error) {
	k := &Check{Name: c.Name, Kind: c.Kind, path: c.Path, op: c.Op}
	var err error
	switch c.Kind {
	case CheckStatus:
		if len(c.Status) == 0 {
			return nil, fmt.Errorf("status: want a code or a list of codes")
		}
		for _, s := range c.Status {
			if s < 100 || s > 999 {
				return nil, fmt.Errorf("status: %d is not an HTTP status", s)
			}
		}
		k.codes = c.Status
	case CheckJSON:
		if err := CheckPath(c.Path); err != nil {
			return nil, err
		}
		switch c.Op {
		case "equals", "not_equals", "contains":
			if k.want, err = Compile(c.Value, names); err != nil {
				return nil, err
			}
		case "matches":
			if k.re, err = regexp.Compile(c.Value); err != nil {
				return nil, fmt.Errorf("matches: bad regex: %s", schemas.OneLine(err.Error()))
			}
		case "exists":
			if k.exist, err = strconv.ParseBool(c.Value); err != nil {
				return nil, fmt.Errorf("exists: want true or false, got %q", c.Value)
			}
		case "gt", "gte", "lt", "lte":
			if k.num, err = strconv.ParseFloat(c.Value, 64); err != nil {
				return nil, fmt.Errorf("%s: want a number, got %q", c.Op, c.Value)
			}
		default:
			return nil, fmt.Errorf("json: want one comparison of %s", strings.Join(jsonOps, ", "))
		}
	case CheckBodyContains:
		if c.Value == "" {
			return nil, fmt.Errorf("body_contains: want a text")
		}
		if k.want, err = Compile(c.Value, names); err != nil {
			return nil, err
		}
	case CheckHeader:
		if strings.TrimSpace(c.Path) == "" {
			return nil, fmt.Errorf("header: want a header name")
		}
		if k.want, err = Compile(c.Value, names); err != nil {
			return nil, err
		}
	case CheckLatencyUnder:
		if c.LatencyUnderNs <= 0 {
			return nil, fmt.Errorf("latency_under: want a duration > 0")
		}
		k.under = time.Duration(c.LatencyUnderNs)
	default:
		return nil, fmt.Errorf("want one of status, json, body_contains, header, latency_under")
	}
	if k.want != nil && k.want.Static() {
		k.fixed = []byte(k.want.src)
	}
	if k.Name == "" {
		k.Name = DefaultName(c)
	}
	return k, nil
}

// DefaultName writes a check's name from what it checks, as k6 users name them.
func DefaultName(c schemas.Check) string {
	switch c.Kind {
	case CheckStatus:
		codes := make([]string, len(c.Status))
		for i, s := range c.Status {
			codes[i] = strconv.Itoa(s)
		}
		return "status is " + strings.Join(codes, " or ")
	case CheckJSON:
		if c.Op == "exists" {
			if c.Value == "false" {
				return "json " + c.Path + " does not exist"
			}
			return "json " + c.Path + " exists"
		}
		return "json " + c.Path + " " + strings.ReplaceAll(c.Op, "_", " ") + " " + c.Value
	case CheckBodyContains:
		return "body contains " + c.Value
	case CheckHeader:
		if c.Value == "" {
			return "header " + c.Path + " present"
		}
		return "header " + c.Path + " contains " + c.Value
	case CheckLatencyUnder:
		return "latency under " + time.Duration(c.LatencyUnderNs).String()
	}
	return c.Kind
}

// NeedsBody reports whether the check reads the response body.
func (k *Check) NeedsBody() bool { return k.Kind == CheckJSON || k.Kind == CheckBodyContains }

// NeedsHeaders reports whether the check reads the response headers.
func (k *Check) NeedsHeaders() bool { return k.Kind == CheckHeader }

// Templates lists the check's templated values.
func (k *Check) Templates() []*Template {
	if k.want == nil {
		return nil
	}
	return []*Template{k.want}
}

// Eval reports whether r passes. scratch is reused for rendering; data is
// the VU's. A response that never came (status 0) fails every check but
// latency_under's, which it fails too: no latency was measured.
func (k *Check) Eval(r *Response, data Data, scratch *bytes.Buffer) bool {
	if r.Status == 0 {
		return false
	}
	switch k.Kind {
	case CheckStatus:
		for _, c := range k.codes {
			if c == r.Status {
				return true
			}
		}
		return false
	case CheckLatencyUnder:
		return r.Latency < k.under
	case CheckBodyContains:
		want, ok := k.render(data, scratch)
		return ok && bytes.Contains(r.Body, want)
	case CheckHeader:
		if r.Header == nil {
			return false
		}
		vs := r.Header.Values(k.path)
		if len(vs) == 0 {
			return false
		}
		want, ok := k.render(data, scratch)
		if !ok {
			return false
		}
		for _, v := range vs {
			if strings.Contains(v, string(want)) {
				return true
			}
		}
		return false
	}
	res := gjson.GetBytes(r.Body, k.path)
	switch k.op {
	case "exists":
		return res.Exists() == k.exist
	case "matches":
		return res.Exists() && k.re.MatchString(res.String())
	case "gt", "gte", "lt", "lte":
		if res.Type != gjson.Number {
			return false
		}
		switch k.op {
		case "gt":
			return res.Num > k.num
		case "gte":
			return res.Num >= k.num
		case "lt":
			return res.Num < k.num
		}
		return res.Num <= k.num
	}
	if !res.Exists() {
		return false
	}
	want, ok := k.render(data, scratch)
	if !ok {
		return false
	}
	got := res.String()
	switch k.op {
	case "equals":
		return got == string(want)
	case "not_equals":
		return got != string(want)
	}
	return strings.Contains(got, string(want))
}

func (k *Check) render(data Data, scratch *bytes.Buffer) ([]byte, bool) {
	if k.want.Static() {
		return k.fixed, true
	}
	scratch.Reset()
	if err := k.want.Execute(scratch, data); err != nil {
		return nil, false
	}
	return scratch.Bytes(), true
}
