package plan

// parserProblems are the YAML library's parser errors (gopkg.in/yaml.v3's
// parserc.go). It reports their line from 0, one line early, and only its
// scanner errors from 1.
var parserProblems = map[string]bool{
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected '-' indicator":    true,
	"did not find expected <document start>": true,
	"did not find expected <stream-start>":   true,
	"did not find expected key":              true,
	"did not find expected node content":     true,
	"found duplicate %TAG directive":         true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// yamlErrorLine is the 1-based line of a YAML syntax error the library
// reported at line with problem msg.
func yamlErrorLine(line int, msg string) int {
	if parserProblems[msg] {
		return line + 1
	}
	return line
}
