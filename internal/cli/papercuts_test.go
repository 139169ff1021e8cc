package cli

import (
	"strings"
	"testing"
)

// --version prints what the version command prints.
func TestVersionFlag(t *testing.T) {
	clearEnv(t)
	flag, cmd := invoke(t, nil, "--version"), invoke(t, nil, "version")
	if flag.code != ExitOK || flag.stdout != cmd.stdout || !strings.HasPrefix(flag.stdout, "loadforge ") {
		t.Errorf("--version: exit %d, %q; version: %q", flag.code, flag.stdout, cmd.stdout)
	}
}

// A URL as run's argument means --url; given twice, it is refused.
func TestURLArgumentMeansURLFlag(t *testing.T) {
	clearEnv(t)
	inv := invoke(t, nil, "run", "http://127.0.0.1:9/x", "--vus", "2", "--duration", "1s")
	if inv.code != ExitOK || inv.cfg == nil {
		t.Fatalf("exit %d: %s", inv.code, inv.stderr)
	}
	if q := inv.cfg.Spec.Scenario.Tasks[0].Requests[0]; q.URL != "http://127.0.0.1:9/x" {
		t.Errorf("request URL %q", q.URL)
	}
	inv = invoke(t, nil, "run", "http://127.0.0.1:9/x", "--url", "http://127.0.0.1:9/y", "--vus", "1", "--duration", "1s")
	if inv.code != ExitUsage || strings.Count(strings.TrimSpace(inv.stderr), "\n") != 0 || !strings.Contains(inv.stderr, "--url") {
		t.Errorf("URL twice: exit %d, stderr %q", inv.code, inv.stderr)
	}
	inv = invoke(t, nil, "validate", "https://127.0.0.1:9/", "--vus", "1", "--duration", "1s")
	if inv.code != ExitOK {
		t.Errorf("validate with a URL: exit %d, stderr %q", inv.code, inv.stderr)
	}
}

// The help reads plainly: a switch without "[=true|false]", one default per flag.
func TestHelpTexts(t *testing.T) {
	clearEnv(t)
	run := invoke(t, nil, "run", "--help").stdout
	for _, bad := range []string{"[=true|false]", `(default "info")`, "closed model: for"} {
		if strings.Contains(run, bad) {
			t.Errorf("run --help has %q", bad)
		}
	}
	if !strings.Contains(run, "--quiet ") || !strings.Contains(run, "(default info; warn with --quiet") {
		t.Errorf("run --help:\n%s", run)
	}
	if w := invoke(t, nil, "worker", "--help").stdout; strings.Contains(w, "three seconds") || !strings.Contains(w, "five seconds") {
		t.Errorf("worker --help:\n%s", w)
	}
}
