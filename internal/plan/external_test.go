package plan

import (
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/pattern"
)

func TestExternalLoad(t *testing.T) {
	withLoad := func(load string) string {
		return strings.Replace(valid, "  vus: 2\n  duration: 5s\n", load, 1)
	}
	cases := []struct {
		load string
		want pattern.ExternalLoad
	}{
		{"  external: {}\n", pattern.ExternalLoad{MaxVUs: DefaultExternalMaxVUs}},
		{"  external: {vus: 5, max_vus: 50, duration: 2m}\n", pattern.ExternalLoad{InitialVUs: 5, MaxVUs: 50, Duration: 2 * time.Minute}},
	}
	for _, tc := range cases {
		p, err := build(t, withLoad(tc.load))
		if err != nil {
			t.Errorf("%s: %v", tc.load, err)
			continue
		}
		if p.External == nil || *p.External != tc.want {
			t.Errorf("%s: external %+v, want %+v", tc.load, p.External, tc.want)
		}
		if len(p.Pattern.Stages) != 0 || !strings.HasPrefix(p.Load, "external") {
			t.Errorf("%s: pattern %+v, description %q", tc.load, p.Pattern, p.Load)
		}
	}
	bad := map[string]string{
		"  external: {vus: 20, max_vus: 10}\n": "p.yaml:9: load.external.vus: 20 is more than max_vus 10",
		"  external: {max_vus: 0}\n":           "load.external.max_vus: must be > 0",
		"  external: {duration: -1s}\n":        "load.external.duration: must be ≥ 0",
		"  external: {vuz: 1}\n":               "load.external.vuz: unknown field",
		"  external: {}\n  vus: 2\n":           "give one load form",
		"  external: {max_vus: 2000000}\n":     "load.external.max_vus: must be ≤ 1000000",
		"  external: {vus: -1, max_vus: 10}\n": "load.external.vus: must be ≥ 0",
		"  external: {vus: 1, max_vus: ten}\n": "want a whole number",
		"  external: [1]\n":                    "load.external: want a mapping",
		"  external: {duration: 5}\n":          "5 has no unit",
	}
	for load, want := range bad {
		_, err := build(t, withLoad(load))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", load, err, want)
		}
	}

	// --vus and --duration replace an external load.
	r, err := Parse([]byte(withLoad("  external: {}\n")), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Apply([]Override{ov(KeyVUs, "--vus", "3"), ov(KeyDuration, "--duration", "1s")}); err != nil {
		t.Fatal(err)
	}
	p, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	if p.External != nil || len(p.Pattern.Stages) == 0 {
		t.Errorf("after --vus/--duration: external %+v, pattern %+v", p.External, p.Pattern)
	}
}
