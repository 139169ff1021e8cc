package csvout

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func lat(min, mean, p50, max float64) schemas.LatencyMs {
	return schemas.LatencyMs{Min: min, Mean: mean, P50: p50, P90: p50 + 1, P95: p50 + 2, P99: p50 + 3, P999: p50 + 4, Max: max}
}

// result: "b" runs both seconds, "a" only the second one, with a timeout and a 503.
func result() *schemas.Result {
	return &schemas.Result{
		SchemaVersion: 1, StartedAt: "2026-01-02T10:00:00.250Z", DurationS: 2,
		Totals: schemas.Totals{Requests: 30, Errors: 3, BytesIn: 3000, LatencyMs: lat(1, 5, 4, 40),
			LatencyMoreMs: schemas.LatencyMoreMs{P66: 4.5, P75: 5, P80: 5.5, P98: 30, P9999: 40}},
		Endpoints: []schemas.EndpointResult{
			{Name: "b", Method: "GET", Requests: 20, BytesIn: 2000, LatencyMs: lat(1, 4, 3, 20), StatusCodes: map[string]uint64{"200": 20}},
			{Name: "a", Method: "POST", Requests: 10, Errors: 3, BytesIn: 1000, LatencyMs: lat(2, 7, 6, 40),
				StatusCodes: map[string]uint64{"200": 8, "503": 1}, ErrorsByKind: map[string]uint64{"http_5xx": 1, "timeout": 2}},
		},
		Timeline: []schemas.TimelineRow{
			{TS: 1, VUs: 2, Requests: 12, BytesIn: 1200, LatencyMs: lat(1, 3, 3, 10), CumP50Ms: 3,
				Endpoints: []schemas.TimelineEndpoint{{Name: "b", Method: "GET", Requests: 12, BytesIn: 1200, LatencyMs: lat(1, 3, 3, 10), CumP50Ms: 3}}},
			{TS: 1.5, VUs: 3, Requests: 18, Errors: 3, BytesIn: 1800, LatencyMs: lat(2, 6.333, 5, 40), CumP50Ms: 4,
				Endpoints: []schemas.TimelineEndpoint{
					{Name: "a", Method: "POST", Requests: 10, Errors: 3, BytesIn: 1000, LatencyMs: lat(2, 7, 6, 40), CumP50Ms: 6},
					{Name: "b", Method: "GET", Requests: 8, BytesIn: 800, LatencyMs: lat(2, 5.5, 4, 20), CumP50Ms: 3.5}}},
		},
	}
}

func TestLocustFiles(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "run")
	if err := Write(prefix, result()); err != nil {
		t.Fatal(err)
	}
	stats := readCSV(t, prefix+StatsSuffix)
	if !slices.Equal(stats[0], StatsHeader) || len(stats) != 4 {
		t.Fatalf("stats: %q", stats)
	}
	// Sorted by name as Locust does; rates over the run's 2 s; percentiles as the result has them.
	wantA := []string{"POST", "a", "10", "3", "6", "7", "2", "40", "100", "5", "1.5", "6", "0", "0", "0", "7", "8", "0", "9", "10", "0", "40"}
	if !slices.Equal(stats[1], wantA) {
		t.Fatalf("stats row a: %q\nwant        %q", stats[1], wantA)
	}
	agg := stats[3]
	if agg[0] != "" || agg[1] != "Aggregated" || agg[2] != "30" || agg[12] != "4.5" || agg[20] != "40" || agg[21] != "40" {
		t.Fatalf("Aggregated row %q", agg)
	}

	hist := readCSV(t, prefix+HistorySuffix)
	if !slices.Equal(hist[0], HistoryHeader) {
		t.Fatalf("history header %q", hist[0])
	}
	// Second 1: b and Aggregated (a has no request yet); second 2: a, b, Aggregated.
	names := []string{}
	for _, r := range hist[1:] {
		names = append(names, r[3])
	}
	if !slices.Equal(names, []string{"b", "Aggregated", "a", "b", "Aggregated"}) {
		t.Fatalf("history rows %q", names)
	}
	if hist[1][0] != "1767348001" || hist[3][0] != "1767348002" || hist[1][1] != "2" || hist[3][1] != "3" {
		t.Fatalf("timestamps and users %q %q", hist[1][:2], hist[3][:2])
	}
	// The half second of 18 requests runs at 36/s; b's totals run over both seconds.
	b2 := hist[4]
	if b2[4] != "16" || b2[17] != "20" || b2[19] != "3.5" || b2[20] != "4" || b2[21] != "1" || b2[22] != "20" || b2[23] != "100" {
		t.Fatalf("history b, second 2: %q", b2)
	}
	if a := hist[5]; a[4] != "36" || a[5] != "6" || a[17] != "30" || a[18] != "3" {
		t.Fatalf("history Aggregated, second 2: %q", a)
	}

	fails := readCSV(t, prefix+FailuresSuffix)
	want := [][]string{FailuresHeader, {"POST", "a", "timeout", "2"}, {"POST", "a", "HTTP 503", "1"}}
	if len(fails) != len(want) || !slices.Equal(fails[1], want[1]) || !slices.Equal(fails[2], want[2]) {
		t.Fatalf("failures %q, want %q", fails, want)
	}
}

func TestEmptyEndpointHasNoPercentiles(t *testing.T) {
	r := result()
	r.Endpoints = append(r.Endpoints, schemas.EndpointResult{Name: "c", Method: "GET"})
	rows := statsRows(r)
	c := rows[3]
	if c[1] != "c" || c[11] != "N/A" || c[21] != "N/A" || c[8] != "0" {
		t.Fatalf("empty endpoint row %q", c)
	}
}

func TestBadStartTime(t *testing.T) {
	r := result()
	r.StartedAt = "yesterday"
	if err := Write(filepath.Join(t.TempDir(), "x"), r); err == nil {
		t.Fatal("a result without a start time gave files")
	}
}

// TestMergedBreakdown: with timeline_endpoints_every, endpoint rows come at
// the rows that carry the breakdown, at the rate over the seconds it covers.
func TestMergedBreakdown(t *testing.T) {
	r := result()
	r.EndpointsEvery = 2
	first, second := r.Timeline[0].Endpoints[0], r.Timeline[1].Endpoints
	second[1].Requests, second[1].BytesIn = second[1].Requests+first.Requests, second[1].BytesIn+first.BytesIn
	r.Timeline[0].Endpoints = nil
	rows := historyRows(r, mustTime(t, r.StartedAt))
	names := []string{}
	for _, row := range rows[1:] {
		names = append(names, row[3])
	}
	if !slices.Equal(names, []string{"Aggregated", "a", "b", "Aggregated"}) {
		t.Fatalf("history rows %q", names)
	}
	// b: 20 requests over the 1.5 s the merged row covers.
	if b := rows[3]; b[4] != "13.333" || b[17] != "20" {
		t.Fatalf("merged b row %q", b)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
