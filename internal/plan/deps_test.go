package plan

import (
	"os/exec"
	"strings"
	"testing"
)

// Parsing a plan is pure: it links neither the bus nor a stage, so the
// validate command and the plan's fuzz targets stay small and fast to build.
func TestPlanLinksNoBus(t *testing.T) {
	// go test puts its own go first on PATH.
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v: %s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/nats-io/",
			"github.com/loadforge/loadforge/internal/bus",
			"github.com/loadforge/loadforge/scheduler",
			"github.com/loadforge/loadforge/worker",
			"github.com/loadforge/loadforge/collector",
		} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("internal/plan depends on %s", dep)
			}
		}
	}
}
