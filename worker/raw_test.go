package worker

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// readRaw reads a raw records file back as maps of column → text, with
// Go's own CSV and JSON readers (gunzipping .gz).
func readRaw(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	jsonl, gz, err := rawFormat(path)
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = f
	if gz {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	var out []map[string]any
	if jsonl {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber() // nanoseconds do not fit a float64
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			out = append(out, m)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no header")
	}
	for i, c := range RawColumns {
		if rows[0][i] != c {
			t.Fatalf("header %v, want %v", rows[0], RawColumns)
		}
	}
	for _, row := range rows[1:] {
		m := map[string]any{}
		for i, c := range RawColumns {
			m[c] = row[i]
		}
		out = append(out, m)
	}
	return out
}

// text gives a field as text whatever the format (JSON null as "").
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case json.Number:
		return x.String()
	case string:
		return x
	}
	return "?"
}

func TestRawRecordsRoundTripInEveryFormat(t *testing.T) {
	eps := []endpoint{
		{name: `odd, "name"`, method: "POST", url: "http://h/a?x=1,2"},
		{name: "plain", method: "GET", url: "http://h/"},
	}
	start := time.Unix(1_700_000_000, 123_456_789)
	outcomes := []struct {
		vu, ep int
		o      outcome
		want   map[string]string
	}{
		{3, 0, outcome{status: 201, latencyUs: 1500, serviceUs: 900, bytesIn: 77, bytesOut: 12, start: start},
			map[string]string{"endpoint": `odd, "name"`, "method": "POST", "url": "http://h/a?x=1,2", "vu": "3",
				"status": "201", "error": "", "latency_us": "1500", "service_us": "900", "bytes_in": "77", "bytes_out": "12",
				"start_ns": "1700000000123456789", "worker": "w-1"}},
		{0, 1, outcome{status: 503, errKind: kindHTTP5xx, latencyUs: 40, start: start},
			map[string]string{"endpoint": "plain", "status": "503", "error": "http_5xx", "latency_us": "40", "service_us": "40"}},
		{1, 1, outcome{errKind: kindRefused, latencyUs: -1, start: start},
			map[string]string{"status": "", "error": "refused", "latency_us": "", "service_us": "", "bytes_in": "0"}},
	}
	for _, name := range []string{"r.csv", "r.jsonl", "r.csv.gz", "r.JSONL.gz"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			if err := CheckRawPath(path); err != nil {
				t.Fatal(err)
			}
			r, err := openRaw(path, "w-1", eps, 4)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range outcomes {
				r.record(c.vu, c.ep, &c.o)
			}
			n, err := r.close()
			if err != nil || n != uint64(len(outcomes)) {
				t.Fatalf("close: %d records, %v", n, err)
			}
			recs := readRaw(t, path)
			if len(recs) != len(outcomes) {
				t.Fatalf("%d records read, %d written", len(recs), len(outcomes))
			}
			// Shards write in chunks: match records by VU.
			for _, c := range outcomes {
				found := false
				for _, rec := range recs {
					if text(rec["vu"]) != strconv.Itoa(c.vu) {
						continue
					}
					found = true
					for k, v := range c.want {
						if got := text(rec[k]); got != v {
							t.Errorf("vu %d: %s = %q, want %q", c.vu, k, got, v)
						}
					}
				}
				if !found {
					t.Errorf("no record of vu %d", c.vu)
				}
			}
		})
	}
}

// Many VUs at once, past several buffer flushes: every record arrives whole.
func TestRawRecordsFromManyVUsArriveWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	r, err := openRaw(path, "w", []endpoint{{name: "e", method: "GET", url: "http://h/"}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	const vus, each = 16, 3000 // about 4 MB: dozens of 64 KiB buffers
	var wg sync.WaitGroup
	for v := range vus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				o := outcome{status: 200, latencyUs: int64(i), start: time.Unix(0, int64(v*each+i))}
				r.record(v, 0, &o)
			}
		}()
	}
	wg.Wait()
	if n, err := r.close(); err != nil || n != vus*each {
		t.Fatalf("close: %d, %v", n, err)
	}
	seen := map[string]bool{}
	for _, rec := range readRaw(t, path) {
		seen[text(rec["start_ns"])] = true
	}
	if len(seen) != vus*each {
		t.Errorf("%d distinct records read, %d written", len(seen), vus*each)
	}
}

func TestRawPaths(t *testing.T) {
	for in, want := range map[string]string{
		"raw.csv":         "raw-box-1.csv",
		"d/raw.jsonl.gz":  "d/raw-box-1.jsonl.gz",
		"RAW.CSV.GZ":      "RAW-box-1.CSV.GZ",
		"out.d/raw.jsonl": "out.d/raw-box-1.jsonl",
	} {
		if got := RawPathFor(in, "box-1"); got != want {
			t.Errorf("RawPathFor(%q) = %q, want %q", in, got, want)
		}
	}
	if got := remoteRawPath("r.csv", "a/b", "run1"); got != "r-a_b-run1.csv" {
		t.Errorf("remote path %q", got)
	}
	for _, bad := range []string{"r.txt", "r.gz", "r.json"} {
		if err := CheckRawPath(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if err := CheckRawPath(filepath.Join(t.TempDir(), "no", "r.csv")); err == nil {
		t.Error("a missing directory accepted")
	}
}

// A worker run with RawPath writes one record per request it counted.
func TestWorkerWritesOneRawRecordPerRequest(t *testing.T) {
	tg := newTarget(t)
	cfg := baseConfig(task("t", 1, tg.URL+"/ok", tg.URL+"/status?code=500"))
	cfg.RawPath = filepath.Join(t.TempDir(), "raw.jsonl.gz")
	h := startWorker(t, cfg)
	h.running()
	h.scale(3)
	h.waitUntil("some requests", func() bool { return tg.total() >= 100 })
	h.stop(time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	s := sumEvents(h.events())
	recs := readRaw(t, cfg.RawPath)
	if uint64(len(recs)) != s.requests || s.requests == 0 {
		t.Fatalf("%d records, events count %d requests", len(recs), s.requests)
	}
	byStatus := map[string]int{}
	for _, r := range recs {
		byStatus[text(r["status"])]++
	}
	if byStatus["200"] != tg.count("/ok") || byStatus["500"] != tg.count("/status") {
		t.Errorf("records by status %v; target saw %d and %d", byStatus, tg.count("/ok"), tg.count("/status"))
	}
}
