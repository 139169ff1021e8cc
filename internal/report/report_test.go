package report

import (
	"bytes"
	"os"
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
