package pattern

import (
	"reflect"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// What the scheduler sends is what a worker compiles: the stages, the pool
// and every arrival survive the trip through a scale command.
func TestRateWireRoundTrip(t *testing.T) {
	r := RampingRate(RateStage{0, 50}, RateStage{1500 * time.Millisecond, 200}, RateStage{time.Second, 0})
	r.MaxVUs, r.PreAllocatedVUs = 40, 7

	w := r.Wire()
	if len(w.Stages) != len(r.Stages) || w.MaxVUs != r.MaxVUs || w.PreAllocatedVUs != r.PreAllocatedVUs {
		t.Fatalf("wire %+v from %+v", w, r)
	}
	if got := w.Stages[1]; got != (schemas.RateStage{DurationNs: int64(1500 * time.Millisecond), Rate: 200}) {
		t.Errorf("stage 1 on the wire: %+v", got)
	}
	back := RateFromWire(w)
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("back from the wire %+v, want %+v", back, r)
	}
	sent, err := r.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	if sent.Total() != got.Total() || sent.Duration() != got.Duration() {
		t.Errorf("schedule: %d arrivals over %s sent, %d over %s compiled", sent.Total(), sent.Duration(), got.Total(), got.Duration())
	}
}

// A worker refuses, through Schedule, what the scheduler would not send.
func TestRateFromWireKeepsBadStagesBad(t *testing.T) {
	bad := &schemas.ArrivalRate{Stages: []schemas.RateStage{{DurationNs: int64(time.Second), Rate: -1}}, MaxVUs: 1}
	if _, err := RateFromWire(bad).Schedule(); err == nil {
		t.Error("a negative rate compiled")
	}
	if r := RateFromWire(&schemas.ArrivalRate{}); len(r.Stages) != 0 || r.Validate() == nil {
		t.Errorf("empty wire pattern: %+v validates", r)
	}
}
