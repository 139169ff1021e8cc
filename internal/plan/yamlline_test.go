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
