package bus

import (
	"os/exec"
	"strings"
	"testing"
)

// The stages reach NATS only through this package: none imports a NATS
// package itself, so this package's surface is all they depend on.
func TestStagesImportNoNATS(t *testing.T) {
	// go test puts its own go first on PATH.
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}",
		"../../collector", "../../worker", "../../scheduler").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("go list: %s", out)
	}
	for _, line := range lines {
		if strings.Contains(line, "github.com/nats-io/") {
			t.Errorf("a stage imports NATS itself: %s", line)
		}
	}
}
