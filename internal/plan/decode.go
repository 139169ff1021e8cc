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

	"gopkg.in/yaml.v3"

	"github.com/loadforge/loadforge/schemas"
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
			raw, err = nil, &Error{Where: filename, Msg: schemas.OneLine(fmt.Sprintf("invalid YAML: %v", p))}
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
	msg := schemas.OneLine(err.Error())
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
