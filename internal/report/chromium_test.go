package report

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/loadforge/loadforge/internal/report/browsertest"
	"github.com/loadforge/loadforge/schemas"
)

// withVerdicts adds thresholds and checks, so that every section shows.
func withVerdicts(r *schemas.Result) *schemas.Result {
	r.Thresholds = []schemas.ThresholdResult{
		{Metric: "http_req_duration", Expression: "p(95)<500", OK: true, Value: 3.2},
		{Metric: "http_req_failed", Expression: "rate<0.01", OK: false, Value: 0.05, AbortOnFail: true},
	}
	r.Checks = &schemas.CheckTotals{Passes: 990, Fails: 10}
	r.Endpoints[0].Checks = []schemas.CheckCount{{Name: "status is 200", Passes: 990, Fails: 10}}
	r.Warnings = []string{"the generator fell behind its schedule"}
	return r
}

// TestPageLoadsInChromium: the page opens in a real browser without a
// console message or a network request, its script runs over every chart,
// and the screenshot shows the charts' lines.
func TestPageLoadsInChromium(t *testing.T) {
	bin := browsertest.Find(t)
	path := filepath.Join(t.TempDir(), "report.html")
	if err := WriteFile(path, withVerdicts(synthetic(120, 3)), Options{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	page := browsertest.Load(t, bin, path)
	if len(page.Console) > 0 {
		t.Fatalf("console: %q", page.Console)
	}
	if len(page.Requests) > 0 {
		t.Fatalf("the page made requests: %q", page.Requests)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	charts := strings.Count(string(src), "data-scale=")
	m := regexp.MustCompile(`data-charts-drawn="(\d+)"`).FindStringSubmatch(page.DOM)
	if m == nil {
		t.Fatal("the page's script did not finish (no data-charts-drawn)")
	}
	if n, _ := strconv.Atoi(m[1]); n != charts || charts < 10 {
		t.Fatalf("the script found lines in %s of %d charts", m[1], charts)
	}
	// The script added its cursor to every chart.
	if got := strings.Count(page.DOM, `class="cursor"`); got != charts {
		t.Fatalf("%d chart cursors in the DOM, want %d", got, charts)
	}
	for _, want := range []string{"Thresholds", "p(95)&lt;500", "status is 200", "✗", "endpoint-02"} {
		if !strings.Contains(page.DOM, want) {
			t.Fatalf("the page lacks %q", want)
		}
	}

	shot := browsertest.Screenshot(t, bin, path, 1280, 1800)
	// Lines in the palette's first colour (VUs, req/s, p50) and in red (p99, errors).
	if blue, red := browsertest.CountColor(shot, 0x2563eb), browsertest.CountColor(shot, 0xdc2626); blue < 200 || red < 100 {
		t.Fatalf("the screenshot has %d blue and %d red pixels: the charts did not draw", blue, red)
	}
	phone := browsertest.Screenshot(t, bin, path, 390, 1600)
	if blue := browsertest.CountColor(phone, 0x2563eb); blue < 50 {
		t.Fatalf("the phone screenshot has %d blue pixels: the charts did not draw", blue)
	}
}
