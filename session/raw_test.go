package session

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/latency"
	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
	"github.com/loadforge/loadforge/worker"
)

// A run with RawPath writes one record per request it counts, and the
// records' latencies rebuild the result's percentiles.
func TestRawRecordsMatchTheResult(t *testing.T) {
	srv := slowServer(t)
	path := filepath.Join(t.TempDir(), "raw.csv.gz")
	res, err := Run(context.Background(), Config{
		Spec: spec(srv.URL + "/"), Pattern: pattern.Constant(4, 1500*time.Millisecond),
		GracefulStop: 2 * time.Second, RawPath: path, Quiet: true,
		Stdout: io.Discard, Stderr: io.Discard, Signals: make(chan os.Signal),
	})
	if err != nil {
		t.Fatal(err)
	}
	checkCounted(t, res, srv, schemas.StateCompleted)

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], worker.RawColumns) {
		t.Fatalf("header %v", rows[:min(1, len(rows))])
	}
	recs := rows[1:]
	if uint64(len(recs)) != res.Totals.Requests {
		t.Fatalf("%d records, result counts %d requests", len(recs), res.Totals.Requests)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	h := latency.New()
	t0, _ := time.Parse(time.RFC3339, res.StartedAt)
	for _, r := range recs {
		us, err := strconv.ParseInt(r[col["latency_us"]], 10, 64)
		if err != nil {
			t.Fatalf("latency %q: %v", r[col["latency_us"]], err)
		}
		latency.Record(h, us)
		start, err := strconv.ParseInt(r[col["start_ns"]], 10, 64)
		if err != nil || time.Unix(0, start).Before(t0.Add(-time.Second)) {
			t.Errorf("start %q before the run's start %s", r[col["start_ns"]], res.StartedAt)
		}
		if r[col["status"]] != "200" || r[col["worker"]] != res.Workers[0].ID || r[col["endpoint"]] != "GET /" {
			t.Errorf("record %v", r)
		}
	}
	// Same values, same histogram: the percentiles agree within its precision.
	got := latency.Summary(h)
	for _, p := range []struct {
		name      string
		got, want float64
	}{{"p50", got.P50, res.Totals.LatencyMs.P50}, {"p99", got.P99, res.Totals.LatencyMs.P99}} {
		if math.Abs(p.got-p.want) > p.want*0.001 {
			t.Errorf("records' %s %.3f ms, result's %.3f ms", p.name, p.got, p.want)
		}
	}
}

// Remote workers write their own raw records, their name and the run's id in
// the file name; each file holds what its worker counted.
func TestRemoteWorkersWriteTheirOwnRawRecords(t *testing.T) {
	srv := slowServer(t)
	b := sharedBus(t)
	dir := t.TempDir()
	for _, id := range []string{"one", "two"} {
		conn, err := b.Connect("worker-" + id)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := worker.NewServer(worker.ServeConfig{WorkerID: id, Name: "n-" + id, Logger: quiet,
			RawPath: filepath.Join(dir, "raw.csv")}, conn)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.Run(ctx)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
		})
	}
	cfg := remoteConfig(b, srv.URL+"/", 2, pattern.Constant(4, 1500*time.Millisecond))
	cfg.RunID = "rawrun"
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkCounted(t, res, srv, schemas.StateCompleted)
	if len(res.Workers) != 2 {
		t.Fatalf("workers %+v", res.Workers)
	}
	for _, w := range res.Workers {
		data, err := os.ReadFile(filepath.Join(dir, "raw-"+w.Name+"-rawrun.csv"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if got := uint64(len(rows) - 1); got != w.Requests || got == 0 {
			t.Errorf("worker %s: %d records, it counted %d", w.Name, got, w.Requests)
		}
	}
}
