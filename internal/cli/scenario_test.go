package cli

import (
	"strings"
	"testing"
)

// --iterations reaches the spec and the pattern; over more workers than VUs
// it is a usage error naming the flag.
func TestIterationsFlag(t *testing.T) {
	clearEnv(t)
	inv := invoke(t, nil, "run", "--url", "http://127.0.0.1:1/", "--iterations", "1000", "--vus", "10", "--quiet")
	if inv.code != ExitOK || inv.cfg == nil {
		t.Fatalf("exit %d: %s", inv.code, inv.stderr)
	}
	if inv.cfg.Spec.Iterations != 1000 || inv.cfg.Pattern.Stages[0].Target != 10 {
		t.Errorf("iterations %d, pattern %+v", inv.cfg.Spec.Iterations, inv.cfg.Pattern)
	}
	inv = invoke(t, nil, "run", "--url", "http://127.0.0.1:1/", "--iterations", "10", "--vus", "1", "--workers", "2", "--listen", "127.0.0.1:0")
	if inv.code != ExitUsage || !strings.Contains(inv.stderr, "--iterations") || strings.Count(inv.stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q", inv.code, inv.stderr)
	}
}
