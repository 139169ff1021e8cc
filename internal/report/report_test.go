package report

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestSizeOfALongRun: a 10-minute run with 20 endpoints makes a page under 2 MB.
func TestSizeOfALongRun(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, synthetic(600, 20), Options{Version: "test"}); err != nil {
		t.Fatal(err)
	}
	if b.Len() >= 2<<20 {
		t.Fatalf("the page is %d bytes, want under 2 MB", b.Len())
	}
	t.Logf("%d bytes", b.Len())
	if out := os.Getenv("LOADFORGE_REPORT_SAMPLE"); out != "" {
		if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWriteSample writes a sample page for people to look at, when asked.
func TestWriteSample(t *testing.T) {
	out := os.Getenv("LOADFORGE_REPORT_SAMPLE_VERDICTS")
	if out == "" {
		t.Skip("set LOADFORGE_REPORT_SAMPLE_VERDICTS=FILE.html to write a sample page")
	}
	if err := WriteFile(out, withVerdicts(synthetic(90, 4)), Options{Version: "sample"}); err != nil {
		t.Fatal(err)
	}
}

// TestMergedBreakdownDrawsWholeLines: a result whose per-endpoint breakdown
// was merged every k seconds is drawn in steps of k, without gaps.
func TestMergedBreakdownDrawsWholeLines(t *testing.T) {
	r := synthetic(30, 2)
	r.EndpointsEvery = 3
	for i := range r.Timeline {
		if (i+1)%3 != 0 {
			r.Timeline[i].Endpoints = nil
		}
	}
	p := build(r, "test")
	if p.Step != 3 {
		t.Fatalf("step %d, want 3", p.Step)
	}
	for _, c := range p.EpLatency {
		for _, s := range c.Series {
			if strings.Count(s.Path, "M") != 1 || strings.Count(s.Path, "L") != 9 {
				t.Fatalf("%s %s: path %q, want one line of 10 points", c.Title, s.Name, s.Path)
			}
		}
	}
}
