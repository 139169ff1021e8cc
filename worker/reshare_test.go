package worker

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/arrival"
	"github.com/loadforge/loadforge/schemas"
)

// takenArrivals is the arrivals due before until that a worker takes,
// walking the schedule as its dispatcher does, from share start through the
// given switches.
func takenArrivals(sched *arrival.Schedule, start arrivalShare, switches []shareSwitch, until time.Duration) []uint64 {
	var taken []uint64
	cur, next := start, start.index
	for {
		next, cur, switches = advance(sched, next, cur, switches)
		off, ok := sched.At(next)
		if !ok || off >= until {
			return taken
		}
		taken = append(taken, next)
		next += cur.of
	}
}

// After any sequence of changes of share, every arrival of the schedule is
// taken by exactly one worker: before a switch point by its old share, from
// it on by the survivors' new shares.
func TestShareSwitchesCoverEveryArrivalOnce(t *testing.T) {
	sched, err := arrival.New([]arrival.Stage{
		{Duration: 2 * time.Second, Rate: 300},       // a ramp up
		{Duration: time.Second, Rate: 300},           // flat
		{Duration: 1500 * time.Millisecond, Rate: 7}, // down to a slow rate
		{Duration: time.Second, Rate: 7},
	})
	if err != nil {
		t.Fatal(err)
	}
	end := sched.Duration()
	at := func(i uint64) time.Duration { off, _ := sched.At(i); return off }
	// Effective times: before the first arrival, exactly on one, between two,
	// in the slow part, past the end.
	times := []time.Duration{0, at(1), at(500), at(500) + 1, at(sched.Total() - 3), end + time.Second}
	absent := arrivalShare{}
	type scenario struct {
		name   string
		shares [][]arrivalShare // per worker, per epoch; absent: lost
		epochs int
	}
	scenarios := []scenario{
		{"3 to 2", [][]arrivalShare{
			{{0, 3}, {0, 2}},
			{{1, 3}, absent},
			{{2, 3}, {1, 2}},
		}, 2},
		{"2 to 1", [][]arrivalShare{
			{{0, 2}, absent},
			{{1, 2}, {0, 1}},
		}, 2},
		{"4 to 3 to 2", [][]arrivalShare{
			{{0, 4}, {0, 3}, absent},
			{{1, 4}, {1, 3}, {0, 2}},
			{{2, 4}, absent, absent},
			{{3, 4}, {2, 3}, {1, 2}},
		}, 3},
	}
	for _, sc := range scenarios {
		for _, e1 := range times {
			for _, e2 := range times {
				if e2 < e1 || (sc.epochs == 2 && e2 != e1) {
					continue
				}
				effective := []time.Duration{0, e1, e2}
				seen := make([]int, sched.Total())
				for w, shares := range sc.shares {
					var switches []shareSwitch
					until := time.Duration(math.MaxInt64)
					for e := 1; e < sc.epochs; e++ {
						if shares[e] == absent {
							// Lost: it takes nothing from the switch point on
							// (in a real run, its arrivals between its death
							// and the switch are lost).
							until = effective[e]
							break
						}
						switches = append(switches, shareSwitch{at: effective[e], share: shares[e]})
					}
					for _, i := range takenArrivals(sched, shares[0], switches, until) {
						seen[i]++
						if seen[i] > 1 {
							t.Fatalf("%s, switches at %v, %v: arrival %d taken twice (again by worker %d)", sc.name, e1, e2, i, w)
						}
					}
				}
				for i, n := range seen {
					if n != 1 {
						t.Fatalf("%s, switches at %v, %v: arrival %d of %d taken %d times", sc.name, e1, e2, i, len(seen), n)
					}
				}
			}
		}
	}
}

// A survivor of two remote workers takes the lost worker's arrivals too:
// from the assignment's switch point on it alone runs the whole schedule.
// What it sends is what the schedule decides, arrival by arrival: its old
// share before the switch point, every arrival from it on.
func TestRemoteOpenModelSurvivorTakesTheWholeRate(t *testing.T) {
	tg := newTarget(t)
	c := newCoordinator(t, "r-open")
	cfg := baseConfig(task("t", 1, tg.URL+"/ok"))
	_, aDone := c.remoteWorker("wa", cfg)
	b, bDone := c.remoteWorker("wb", cfg)
	c.assign(2, []string{c.join(), c.join()})
	<-b.Ready()
	c.waitUntil("both hellos", func() bool { return c.hellos["wa"] && c.hellos["wb"] })
	c.running()

	const rate, length = 200.0, 3 * time.Second
	a := schemas.ArrivalRate{Stages: []schemas.RateStage{{DurationNs: 0, Rate: rate}, {DurationNs: int64(length), Rate: rate}},
		MaxVUs: 100, PreAllocatedVUs: 10}
	sched, err := arrival.New([]arrival.Stage{{Duration: 0, Rate: rate}, {Duration: length, Rate: rate}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	c.scales++
	c.publish(schemas.KindScale, &schemas.ScaleCommand{SchemaVersion: schemas.Version, RunID: c.run, Seq: c.scales,
		AtNs: t0.UnixNano(), TargetVUs: a.PreAllocatedVUs, Arrivals: &a, EndNs: t0.Add(length).UnixNano()})
	c.waitUntil("both workers sending", func() bool { return c.vus["wa"] > 0 && c.vus["wb"] > 0 })

	// The switch lies well ahead of the assignment, so that the survivor
	// hears it before it is due even on a busy machine.
	effective := max(time.Since(t0)+time.Second, length/2)
	if effective >= length-reshareLead {
		t.Skipf("the workers took %v to start; no room left for a switch", time.Since(t0))
	}
	c.assignAt(t0.Add(effective).UnixNano(), 2, []string{"wb"}, "wa")
	if err := runErr(t, aDone); !errors.Is(err, ErrDropped) {
		t.Fatalf("dropped worker's Run: %v, want ErrDropped", err)
	}
	// Worker wb was index 1 of 2: the odd arrivals before the switch point,
	// all of them from it on.
	from := sched.Count(effective)
	want := (from+1)/2 + (sched.Total() - from)
	c.waitUntil("the survivor's arrivals", func() bool { return c.sent["wb"]+c.drops["wb"] >= want })
	if i, n := b.Segment(); i != 0 || n != 1 {
		t.Errorf("survivor's segment %d of %d, want 0 of 1", i, n)
	}
	c.stop()
	if err := runErr(t, bDone); err != nil {
		t.Errorf("survivor's Run: %v", err)
	}
	c.waitUntil("the survivor's bye", func() bool { return c.byes["wb"] != nil })
	c.mu.Lock()
	sent, dropped := c.byes["wb"].Requests, c.drops["wb"]
	c.mu.Unlock()
	if sent+dropped != want {
		t.Errorf("the survivor sent %d and dropped %d arrivals, want %d in all (%d of the %d arrivals due from the switch at %v)",
			sent, dropped, want, sched.Total()-from, sched.Total(), effective)
	}
}
