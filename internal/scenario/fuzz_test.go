package scenario

import (
	"bytes"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

// FuzzCompile: no template text panics the compiler or, once compiled, its
// execution; errors are one line.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"{{ .api }}", "{{ .users.name }}", "{{ randInt 1 10 }}", "{{ if .token }}{{ .vu }}{{ end }}", "{{", "}}{{ .", "{{ range .users }}{{ . }}{{ end }}", `{{ env "X" | printf "%q" }}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		tm, err := Compile(src, testNames())
		if err != nil {
			if bytes.ContainsRune([]byte(err.Error()), '\n') {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		data := Data{"api": "/v1", "token": "t", "users": map[string]string{"name": "a", "password": "p"}, NameVU: 1, NameIteration: 1, NameWorker: 1}
		var b bytes.Buffer
		_ = tm.Execute(&b, data)
	})
}

// FuzzCheck: no check definition panics compiling or evaluating against any body.
func FuzzCheck(f *testing.F) {
	f.Add("json", "user", "equals", "alice", `{"user":"alice"}`)
	f.Add("json", "items.#", "gte", "1", `{"items":[1]}`)
	f.Add("json", "a[", "matches", "(", `[]`)
	f.Add("header", "Content-Type", "", "json", ``)
	f.Add("body_contains", "", "", "x", `xx`)
	f.Fuzz(func(t *testing.T, kind, path, op, value, body string) {
		k, err := CompileCheck(schemas.Check{Kind: kind, Path: path, Op: op, Value: value, Status: []int{200}, LatencyUnderNs: 1}, testNames())
		if err != nil {
			return
		}
		var scratch bytes.Buffer
		k.Eval(&Response{Status: 200, Body: []byte(body)}, Data{"users": map[string]string{"name": "a", "password": "p"}}, &scratch)
		if x, err := CompileExtract(schemas.Extract{Name: "v", From: kind, Expr: path}); err == nil {
			x.Extract(&Response{Status: 200, Body: []byte(body)})
		}
	})
}

// FuzzJSONBody: a JSON document with templated strings renders to valid JSON.
func FuzzJSONBody(f *testing.F) {
	f.Add(`{"a":"{{ .api }}","b":[1,"{{ .token }}"]}`, "x\"\\\n")
	f.Fuzz(func(t *testing.T, doc, value string) {
		jb, err := CompileJSON(doc, testNames())
		if err != nil {
			return
		}
		var b, scratch bytes.Buffer
		if err := jb.Execute(&b, Data{"api": value, "token": value, "users": map[string]string{"name": value, "password": value}, NameVU: 1, NameIteration: 1, NameWorker: 1}, &scratch); err != nil {
			return
		}
		if !jsonValid(b.Bytes()) {
			t.Fatalf("rendered invalid JSON %q from %q", b.String(), doc)
		}
	})
}
