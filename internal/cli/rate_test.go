package cli

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/internal/plan"
)

// checkRateTimeline checks an open-model plan's printed timeline: rows
// "<at> <rate>/s <iterations>" from 0 to the end, as the pattern says.
func checkRateTimeline(t *testing.T, out string, p *plan.Plan) {
	t.Helper()
	rows := regexp.MustCompile(`(?m)^\s+(\S+)\s+([\d.]+)/s\s+(\d+)\b`).FindAllStringSubmatch(out, -1)
	if len(rows) < 2 || len(rows) > 61 {
		t.Fatalf("%d timeline rows:\n%s", len(rows), out)
	}
	d := p.Pattern.Duration()
	if rows[0][1] != "0s" || rows[len(rows)-1][1] != d.String() {
		t.Errorf("timeline runs %s..%s, want 0s..%s", rows[0][1], rows[len(rows)-1][1], d)
	}
	for _, r := range rows {
		at, err := time.ParseDuration(r[1])
		if err != nil {
			t.Fatalf("row %q", r[0])
		}
		if want := p.Pattern.Rate.Arrivals(at); strconv.FormatUint(want, 10) != r[3] {
			t.Errorf("at %s: %s iterations printed, the pattern says %d", at, r[3], want)
		}
	}
	if total := p.Pattern.Rate.Arrivals(d); !strings.Contains(out, strconv.FormatUint(total, 10)+" iterations") {
		t.Errorf("the load line lacks the %d iterations:\n%s", total, out)
	}
}

func TestOpenModelFlags(t *testing.T) {
	clearEnv(t)
	t.Setenv("LOADFORGE_PRE_VUS", "5")
	inv := invoke(t, nil, "run", "--url", "http://127.0.0.1:1/", "--rate", "250", "--duration", "4s", "--max-vus", "60")
	if inv.code != ExitOK {
		t.Fatalf("exit %d: %s", inv.code, inv.stderr)
	}
	want := pattern.ConstantRate(250, 4*time.Second)
	want.MaxVUs, want.PreAllocatedVUs = 60, 5
	if got := inv.cfg.Pattern; !got.Open() || !reflect.DeepEqual(*got.Rate, want) {
		t.Errorf("pattern %+v, want rate %+v", got, want)
	}

	clearEnv(t)
	t.Setenv("LOADFORGE_RATE_STAGE", "2s:100, 1s:0")
	inv = invoke(t, nil, "validate", "--url", "http://127.0.0.1:1/")
	if inv.code != ExitOK {
		t.Fatalf("exit %d: %s", inv.code, inv.stderr)
	}
	if !strings.Contains(inv.stdout, "rate stages 2s→100/s, 1s→0/s") || !strings.Contains(inv.stdout, "150 iterations") {
		t.Errorf("validate:\n%s", inv.stdout)
	}
}
