// Package scenario is the machinery of scenarios that behave like users:
// templates over a VU's variables, extraction from responses, checks on them,
// and data sets with their row pickers. It is pure: the plan uses it to
// validate at load time, the worker to run, and neither needs the other.
package scenario

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// Built-in names of the template data.
const (
	NameVU        = "vu"
	NameIteration = "iteration"
	NameWorker    = "worker"
)

// Names says what a template may name: the plan's vars, the values extract
// sets anywhere in the scenario, the data sets and their columns, and the
// built-ins (vu, iteration, worker).
type Names struct {
	Vars      map[string]bool
	Extracted map[string]bool
	Sets      map[string][]string // set name -> its columns
}

// Source says where a name a template uses comes from, for people.
func (n *Names) Source(name string) string {
	switch {
	case name == NameVU || name == NameIteration || name == NameWorker:
		return "built-in"
	case n.Vars[name]:
		return "vars"
	case n.Extracted[name]:
		return "extract"
	}
	if _, ok := n.Sets[name]; ok {
		return "data"
	}
	return "unknown"
}

// Funcs are the template functions; their names are part of the plan's language.
var Funcs = template.FuncMap{
	"uuid":       newUUID,
	"randInt":    randInt,
	"randString": randString,
	"now":        func() int64 { return time.Now().UnixMilli() },
	"env":        os.Getenv,
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randInt is a uniform whole number in [a, b].
func randInt(a, b int) (int, error) {
	if b < a {
		return 0, fmt.Errorf("randInt %d %d: the second is below the first", a, b)
	}
	return a + mrand.IntN(b-a+1), nil
}

const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// maxRandString bounds randString so a typo cannot allocate gigabytes per request.
const maxRandString = 1 << 20

func randString(n int) (string, error) {
	if n < 0 || n > maxRandString {
		return "", fmt.Errorf("randString %d: want 0 to %d", n, maxRandString)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[mrand.IntN(len(letters))]
	}
	return string(b), nil
}

// IsTemplate reports whether s holds template actions.
func IsTemplate(s string) bool { return strings.Contains(s, "{{") }

// Template is a compiled text template, or a static text (no actions).
type Template struct {
	src    string
	t      *template.Template // nil: static
	fields []string           // names used, for validate
}

// Compile parses src and checks every name and function it uses against
// names. The error is one line, without location (the caller adds it).
func Compile(src string, names *Names) (*Template, error) {
	if !IsTemplate(src) {
		return &Template{src: src}, nil
	}
	t, err := template.New("t").Funcs(Funcs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, errors.New(cleanTemplateError(err))
	}
	tt := &Template{src: src, t: t}
	seen := map[string]bool{}
	var walk func(n parse.Node, dotIsData bool) error
	walk = func(n parse.Node, dotIsData bool) error {
		switch n := n.(type) {
		case nil:
			return nil
		case *parse.ListNode:
			if n == nil {
				return nil
			}
			for _, c := range n.Nodes {
				if err := walk(c, dotIsData); err != nil {
					return err
				}
			}
		case *parse.ActionNode:
			return walk(n.Pipe, dotIsData)
		case *parse.PipeNode:
			if n == nil {
				return nil
			}
			for _, c := range n.Cmds {
				if err := walk(c, dotIsData); err != nil {
					return err
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				if err := walk(a, dotIsData); err != nil {
					return err
				}
			}
		case *parse.IfNode:
			return walkBranch(&n.BranchNode, dotIsData, dotIsData, walk)
		case *parse.RangeNode:
			return walkBranch(&n.BranchNode, dotIsData, false, walk)
		case *parse.WithNode:
			return walkBranch(&n.BranchNode, dotIsData, false, walk)
		case *parse.ChainNode:
			return walk(n.Node, dotIsData)
		case *parse.TemplateNode:
			return errors.New("{{ template }} is not supported")
		case *parse.FieldNode:
			if !dotIsData {
				return nil
			}
			name := n.Ident[0]
			if err := names.check(n.Ident); err != nil {
				return err
			}
			if !seen[name] {
				seen[name] = true
				tt.fields = append(tt.fields, strings.Join(n.Ident[:min(2, len(n.Ident))], "."))
			}
		}
		return nil
	}
	if err := walk(t.Tree.Root, true); err != nil {
		return nil, err
	}
	return tt, nil
}

func walkBranch(b *parse.BranchNode, dot, inner bool, walk func(parse.Node, bool) error) error {
	if err := walk(b.Pipe, dot); err != nil {
		return err
	}
	if err := walk(b.List, inner); err != nil {
		return err
	}
	return walk(b.ElseList, inner)
}

// check reports whether a field chain .a.b names something known.
func (n *Names) check(ident []string) error {
	name := ident[0]
	if cols, ok := n.Sets[name]; ok {
		if len(ident) < 2 {
			return fmt.Errorf("{{ .%s }} is a data set: name a column, like {{ .%s.%s }}", name, name, first(cols))
		}
		for _, c := range cols {
			if c == ident[1] {
				return nil
			}
		}
		return fmt.Errorf("data set %q has no column %q (it has %s)", name, ident[1], strings.Join(cols, ", "))
	}
	switch {
	case name == NameVU || name == NameIteration || name == NameWorker, n.Vars[name], n.Extracted[name]:
		if len(ident) > 1 {
			return fmt.Errorf("{{ .%s }} is a single value; .%s.%s names nothing", name, name, ident[1])
		}
		return nil
	}
	return fmt.Errorf("unknown name {{ .%s }} (want %s)", name, n.known())
}

func first(s []string) string {
	if len(s) == 0 {
		return "COLUMN"
	}
	return s[0]
}

// known lists the names a template may use, for errors.
func (n *Names) known() string {
	var all []string
	for k := range n.Vars {
		all = append(all, k)
	}
	for k := range n.Extracted {
		all = append(all, k)
	}
	for k := range n.Sets {
		all = append(all, k+".COLUMN")
	}
	sort.Strings(all)
	all = append(all, NameVU, NameIteration, NameWorker)
	return "one of " + strings.Join(all, ", ")
}

var templatePrefix = regexp.MustCompile(`^template: t:\d+(:\d+)?: `)

func cleanTemplateError(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	msg = templatePrefix.ReplaceAllString(msg, "")
	return strings.TrimPrefix(msg, "template: ")
}

// Static reports whether the template has no actions.
func (t *Template) Static() bool { return t.t == nil }

// Source is the text as written.
func (t *Template) Source() string { return t.src }

// Fields lists the names the template uses ("token", "users.name"), in order of first use.
func (t *Template) Fields() []string { return t.fields }

// Execute appends the template's text for data to buf.
func (t *Template) Execute(buf *bytes.Buffer, data Data) error {
	if t.t == nil {
		buf.WriteString(t.src)
		return nil
	}
	if err := t.t.Execute(buf, map[string]any(data)); err != nil {
		return errors.New(cleanTemplateError(err))
	}
	return nil
}

// String renders the template for data.
func (t *Template) String(data Data) (string, error) {
	if t.t == nil {
		return t.src, nil
	}
	var b bytes.Buffer
	err := t.Execute(&b, data)
	return b.String(), err
}

// Data is what templates see: a VU's variables by name, each data set's
// current row as a map by set name, and the built-ins. One per VU, updated in
// place.
type Data map[string]any

// JSONBody is a JSON document whose string values may be templates. Each
// template's output is written as a JSON string, escaped.
type JSONBody struct {
	parts []string    // static JSON text around the templated strings
	tmpls []*Template // tmpls[i] goes between parts[i] and parts[i+1]
}

// CompileJSON compiles a JSON document whose string values may be templates.
func CompileJSON(doc string, names *Names) (*JSONBody, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	var tmpls []*Template
	var walkErr error
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			if IsTemplate(x) {
				t, err := Compile(x, names)
				if err != nil && walkErr == nil {
					walkErr = err
				}
				tmpls = append(tmpls, t)
				return placeholder(len(tmpls) - 1)
			}
		}
		return v
	}
	v = walk(v)
	if walkErr != nil {
		return nil, walkErr
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	// Marshal sorts keys, so the placeholders come out in some order: find
	// each, in order of appearance.
	text := string(out)
	body := &JSONBody{}
	for {
		i := strings.Index(text, `"\u0000`)
		if i < 0 {
			break
		}
		j := strings.Index(text[i+7:], `\u0000"`)
		n, _ := strconv.Atoi(text[i+7 : i+7+j])
		body.parts = append(body.parts, text[:i])
		body.tmpls = append(body.tmpls, tmpls[n])
		text = text[i+7+j+7:]
	}
	body.parts = append(body.parts, text)
	return body, nil
}

func placeholder(i int) string { return "\x00" + strconv.Itoa(i) + "\x00" }

// Static reports whether the document has no templates; Bytes is then its text.
func (b *JSONBody) Static() bool { return len(b.tmpls) == 0 }

// Templates lists the document's templated strings.
func (b *JSONBody) Templates() []*Template { return b.tmpls }

// Execute appends the document for data to buf.
func (b *JSONBody) Execute(buf *bytes.Buffer, data Data, scratch *bytes.Buffer) error {
	for i, t := range b.tmpls {
		buf.WriteString(b.parts[i])
		scratch.Reset()
		if err := t.Execute(scratch, data); err != nil {
			return err
		}
		writeJSONString(buf, scratch.Bytes())
	}
	buf.WriteString(b.parts[len(b.parts)-1])
	return nil
}

// writeJSONString writes s as a JSON string literal.
func writeJSONString(buf *bytes.Buffer, s []byte) {
	const hex = "0123456789abcdef"
	buf.WriteByte('"')
	for _, c := range string(s) {
		switch {
		case c == '"' || c == '\\':
			buf.WriteByte('\\')
			buf.WriteRune(c)
		case c < 0x20:
			buf.WriteString(`\u00`)
			buf.WriteByte(hex[c>>4])
			buf.WriteByte(hex[c&0xf])
		case c == 0xFFFD:
			buf.WriteString(`\ufffd`)
		default:
			buf.WriteRune(c)
		}
	}
	buf.WriteByte('"')
}
