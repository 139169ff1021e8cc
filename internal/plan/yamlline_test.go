package plan

import (
	"strings"
	"testing"
)

// A YAML syntax error names the line that holds the problem, whether the
// library's parser or its scanner found it.
func TestYAMLSyntaxErrorLines(t *testing.T) {
	for _, c := range []struct {
		name, src, want string
	}{
		{"unclosed flow sequence", "name: q\nload:\n  vus: 1\n  duration: [1s\nscenario:\n  tasks: []\n", "q.yaml:4: "},
		{"bad indentation", "name: q\nload:\n  vus: 1\n  duration: 1s\n bad: x\n", "q.yaml:5: "},
		{"unclosed quote", "name: q\nload:\n  vus: 1\n  duration: \"1s\nscenario: {}\n", "q.yaml:4: "},
		{"tab", "name: q\nload:\n\tvus: 1\n", "q.yaml:3: "},
	} {
		_, err := Parse([]byte(c.src), "q.yaml")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to start with %q", c.name, err, c.want)
		}
	}
}

// A task's name names its one `request:`, so two tasks that hit the same
// path on different hosts are two endpoints, not a clash of names.
func TestTaskNameNamesItsRequest(t *testing.T) {
	src := "load: {vus: 1, duration: 1s}\nscenario:\n  tasks:\n" +
		"    - name: a\n      request: {url: 'http://127.0.0.1:9/'}\n" +
		"    - name: b\n      request: {url: 'http://127.0.0.2:9/'}\n"
	raw, err := Parse([]byte(src), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := raw.Build()
	if err != nil {
		t.Fatalf("two tasks on / of two hosts: %v", err)
	}
	for i, want := range []string{"a", "b"} {
		if got := p.Spec.Scenario.Tasks[i].Requests[0].Name; got != want {
			t.Errorf("task %d's request is named %q, want %q", i+1, got, want)
		}
	}
}
