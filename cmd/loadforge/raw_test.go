package main_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// --raw writes one record per request: as many as the result counts and as
// nginx logged.
func TestNginxRawRecordsMatchItsLog(t *testing.T) {
	ngx := startNginx(t)
	dir := t.TempDir()
	out, raw := filepath.Join(dir, "r.json"), filepath.Join(dir, "raw.jsonl")
	code, _, stderr := runLoadforge(t, "run", "--url", ngx.URL+"/", "--vus", "10", "--duration", "2s",
		"--quiet", "--out", out, "--raw", raw)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r, _ := readResult(t, out)
	data, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	records := uint64(bytes.Count(data, []byte("\n")))
	if logged := ngx.logged(t); records != r.Totals.Requests || records != logged || records == 0 {
		t.Errorf("%d raw records, result %d requests, nginx logged %d", records, r.Totals.Requests, logged)
	}
}
