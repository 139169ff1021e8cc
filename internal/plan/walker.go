package plan

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The YAML node walker: mappings, lists and scalars decoded with aliases,
// merge keys and duplicate keys handled, every error at its file:line.

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
