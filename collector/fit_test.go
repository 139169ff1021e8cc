package collector

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/loadforge/loadforge/schemas"
)

// longResult: seconds rows of endpoints endpoints each, as the collector makes them.
func longResult(seconds, endpoints int) *schemas.Result {
	r := &schemas.Result{SchemaVersion: 1, RunID: "r"}
	for s := 1; s <= seconds; s++ {
		row := schemas.TimelineRow{TS: float64(s)}
		for e := range endpoints {
			n := uint64(10 + (s*7+e*3)%13)
			row.Endpoints = append(row.Endpoints, schemas.TimelineEndpoint{
				Name: fmt.Sprintf("endpoint-%02d", e), Method: "GET", URL: fmt.Sprintf("http://127.0.0.1/%d", e),
				Requests: n, Errors: n / 5, BytesIn: n * 100,
				LatencyMs: schemas.LatencyMs{Min: 1, Mean: float64(s % 5), P50: 2, P99: float64(s), Max: float64(s + e)},
				CumP50Ms:  float64(s),
			})
			row.Requests += n
		}
		r.Timeline = append(r.Timeline, row)
	}
	return r
}

func endpointSums(r *schemas.Result) map[string]uint64 {
	sums := map[string]uint64{}
	for _, row := range r.Timeline {
		for _, e := range row.Endpoints {
			sums[e.Name] += e.Requests
		}
	}
	return sums
}

// TestFitResultMergesTheBreakdown: a result over the budget has its
// breakdown merged k seconds at a time, fits, and keeps its counts.
func TestFitResultMergesTheBreakdown(t *testing.T) {
	r := longResult(100, 6)
	want := endpointSums(r)
	size, err := encodedSize(r)
	if err != nil {
		t.Fatal(err)
	}
	untouched := longResult(100, 6)
	if err := fitResult(untouched, size); err != nil || untouched.EndpointsEvery != 0 || !reflect.DeepEqual(untouched, longResult(100, 6)) {
		t.Fatalf("a result within its budget was changed (every %d, err %v)", untouched.EndpointsEvery, err)
	}

	budget := size / 3
	if err := fitResult(r, budget); err != nil {
		t.Fatal(err)
	}
	got, _ := encodedSize(r)
	k := r.EndpointsEvery
	if got > budget || k < 3 || len(r.Warnings) != 1 {
		t.Fatalf("%d bytes for a budget of %d, every %d, warnings %q", got, budget, k, r.Warnings)
	}
	if sums := endpointSums(r); !reflect.DeepEqual(sums, want) {
		t.Fatalf("merged breakdown sums to %v, want %v", sums, want)
	}
	for i, row := range r.Timeline {
		carries := (i+1)%k == 0 || i == len(r.Timeline)-1
		if carries != (len(row.Endpoints) > 0) {
			t.Fatalf("row %d (every %d) has %d endpoint rows", i, k, len(row.Endpoints))
		}
	}
	// Latencies: the highest second of each span; the median to date the latest.
	first := r.Timeline[k-1].Endpoints[1]
	if first.LatencyMs.Max != float64(k+1) || first.LatencyMs.P99 != float64(k) || first.CumP50Ms != float64(k) {
		t.Fatalf("first merged row of endpoint-01: %+v", first)
	}
}

func TestFitResultDropsWhatCannotFit(t *testing.T) {
	r := longResult(10, 3)
	if err := fitResult(r, 100); err != nil {
		t.Fatal(err)
	}
	if len(endpointSums(r)) != 0 || r.EndpointsEvery != 0 || len(r.Warnings) != 1 {
		t.Fatalf("breakdown %v, every %d, warnings %q", endpointSums(r), r.EndpointsEvery, r.Warnings)
	}
}
