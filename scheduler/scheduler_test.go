package scheduler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/schemas"
)

const ms = time.Millisecond

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testRunID = "sched-test"
	// waitLong bounds every wait for a message or a return: generous, as the
	// machine may be busy; passing tests never come near it.
	waitLong = 10 * time.Second
	// markerRunID tags a command the test publishes itself after Run returned:
	// once it arrives, everything Run published has arrived too.
	markerRunID = "marker"
)

type received struct {
	cmd schemas.ScaleCommand
	at  time.Time
}

// openBus starts an in-process bus and returns the scheduler's connection and
// a channel of every scale command of testRunID, stamped with when it arrived.
func openBus(t *testing.T) (*bus.Conn, <-chan received) {
	t.Helper()
	b, err := bus.Open(bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("close bus: %v", err)
		}
	})
	schedConn, err := b.Connect("scheduler")
	if err != nil {
		t.Fatal(err)
	}
	subConn, err := b.Connect("subscriber")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan received, 1<<16)
	_, err = bus.Subscribe(subConn, schemas.Subject(testRunID, schemas.KindScale), func(_ string, m *schemas.ScaleCommand) {
		got <- received{cmd: *m, at: time.Now()}
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := subConn.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return schedConn, got
}

// collectUntil reads commands until one satisfies last, which it includes.
func collectUntil(t *testing.T, got <-chan received, last func(schemas.ScaleCommand) bool) []received {
	t.Helper()
	var out []received
	deadline := time.After(waitLong)
	for {
		select {
		case r := <-got:
			out = append(out, r)
			if last(r.cmd) {
				return out
			}
		case <-deadline:
			t.Fatalf("no closing command after %v; got %d commands", waitLong, len(out))
		}
	}
}

// publishMarker publishes a marker on the scheduler's connection after Run
// returned and returns everything received up to it.
func publishMarker(t *testing.T, conn *bus.Conn, got <-chan received) []received {
	t.Helper()
	err := conn.Publish(schemas.Subject(testRunID, schemas.KindScale),
		&schemas.ScaleCommand{SchemaVersion: schemas.Version, RunID: markerRunID})
	if err != nil {
		t.Fatal(err)
	}
	all := collectUntil(t, got, func(c schemas.ScaleCommand) bool { return c.RunID == markerRunID })
	return all[:len(all)-1]
}

// checkCommands checks what every sequence of commands from one run must satisfy.
func checkCommands(t *testing.T, p pattern.Pattern, t0 time.Time, cmds []received) {
	t.Helper()
	for i, r := range cmds {
		c := r.cmd
		if c.Seq != uint64(i+1) {
			t.Errorf("command %d has seq %d, want %d", i, c.Seq, i+1)
		}
		if c.SchemaVersion != schemas.Version || c.RunID != testRunID {
			t.Errorf("command %d: schema_version %d, run_id %q", i, c.SchemaVersion, c.RunID)
		}
		elapsed := time.Duration(c.ElapsedNs)
		if c.AtNs != t0.Add(elapsed).UnixNano() {
			t.Errorf("command %d: at_ns %d is not t0 + elapsed_ns %v", i, c.AtNs, elapsed)
		}
		if want, _ := p.Target(elapsed); c.TargetVUs != want {
			t.Errorf("command %d: target %d at %v, pattern says %d", i, c.TargetVUs, elapsed, want)
		}
		if early := r.at.Sub(t0) - elapsed; early < 0 {
			t.Errorf("command %d for %v arrived %v early", i, elapsed, -early)
		}
		if c.Done != (elapsed == p.Duration()) {
			t.Errorf("command %d at %v: done = %v with the pattern ending at %v", i, elapsed, c.Done, p.Duration())
		}
		if i == 0 {
			continue
		}
		prev := cmds[i-1].cmd
		if c.ElapsedNs <= prev.ElapsedNs {
			t.Errorf("command %d at %v does not follow command %d at %v", i, elapsed, i-1, time.Duration(prev.ElapsedNs))
		}
		if c.Done {
			continue
		}
		if c.TargetVUs == prev.TargetVUs {
			t.Errorf("command %d repeats target %d", i, c.TargetVUs)
		}
		// Only the times the target moves are worth a command.
		if before, _ := p.Target(elapsed - 1); before == c.TargetVUs {
			t.Errorf("command %d at %v is not at a change of the target", i, elapsed)
		}
	}
}

func TestRunFollowsPattern(t *testing.T) {
	conn, got := openBus(t)
	p := pattern.Pattern{Stages: []pattern.Stage{{Duration: 300 * ms, Target: 6}, {Duration: 200 * ms, Target: 6}}}
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := mustNew(t, Config{RunID: testRunID, Pattern: p, Start: t0}, conn).Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	cmds := collectUntil(t, got, func(c schemas.ScaleCommand) bool { return c.Done })
	if len(cmds) < 2 {
		t.Fatalf("got %d commands, want a first one and a done one", len(cmds))
	}
	checkCommands(t, p, t0, cmds)
	last := cmds[len(cmds)-1].cmd
	final, _ := p.Target(p.Duration())
	if last.TargetVUs != final || last.ElapsedNs != int64(p.Duration()) {
		t.Errorf("done command %+v, want target %d at %v", last, final, p.Duration())
	}
	if rest := publishMarker(t, conn, got); len(rest) != 0 {
		t.Errorf("%d commands after the done one", len(rest))
	}
}

func TestRunDefaultStartIsNow(t *testing.T) {
	conn, got := openBus(t)
	p := pattern.Constant(0, 50*ms)
	before := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := mustNew(t, Config{RunID: testRunID, Pattern: p}, conn).Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	cmds := collectUntil(t, got, func(c schemas.ScaleCommand) bool { return c.Done })
	if len(cmds) != 2 {
		t.Fatalf("got %d commands, want the initial 0 and done: %+v", len(cmds), cmds)
	}
	t0 := time.Unix(0, cmds[0].cmd.AtNs)
	if t0.Before(before) || cmds[0].cmd.TargetVUs != 0 {
		t.Errorf("first command %+v: want target 0 at a t0 no earlier than Run began (%v)", cmds[0].cmd, before)
	}
	if d := cmds[1].cmd.AtNs - cmds[0].cmd.AtNs; d != int64(p.Duration()) {
		t.Errorf("done command %v after the first, want %v", time.Duration(d), p.Duration())
	}
}

func TestRunLateStartSkipsDueChanges(t *testing.T) {
	conn, got := openBus(t)
	// A target moving every 20 ms whose first two seconds are over before Run begins.
	p := pattern.Ramp(0, 120, 2400*ms)
	t0 := time.Now().Add(-2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	runBegan := time.Since(t0)
	if err := mustNew(t, Config{RunID: testRunID, Pattern: p, Start: t0}, conn).Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	cmds := collectUntil(t, got, func(c schemas.ScaleCommand) bool { return c.Done })
	checkCommands(t, p, t0, cmds)
	// Changes overdue by more than the timer's slack when Run began get no command.
	overdue := runBegan - timerSlack
	first := cmds[0].cmd
	if next, _, ok := p.NextChange(time.Duration(first.ElapsedNs)); ok && next <= overdue {
		t.Errorf("first command at %v, but the change at %v was overdue when Run began (%v)", time.Duration(first.ElapsedNs), next, runBegan)
	}
	for _, r := range cmds[1:] {
		if time.Duration(r.cmd.ElapsedNs) <= overdue {
			t.Errorf("command %+v for a change that was overdue when Run began (%v)", r.cmd, runBegan)
		}
	}
}

func TestRunStallCollapsesChanges(t *testing.T) {
	conn, got := openBus(t)
	// A spike up and back down, then a ramp; the clock leaps over the spike
	// as if the process had stalled, and lands before the ramp.
	p := pattern.Pattern{Stages: []pattern.Stage{
		{Duration: 0, Target: 3}, {Duration: 100 * ms, Target: 3}, {Duration: 0, Target: 9}, {Duration: time.Millisecond, Target: 9}, {Duration: 0, Target: 3}, {Duration: 100 * ms, Target: 3}, {Duration: 100 * ms, Target: 8},
	}}
	const stall = 100 * ms
	t0 := time.Now()
	stallAt := t0.Add(50 * ms)
	s := mustNew(t, Config{RunID: testRunID, Pattern: p, Start: t0}, conn)
	s.now = func() time.Time {
		if now := time.Now(); now.Before(stallAt) {
			return now
		} else {
			return now.Add(stall)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	cmds := collectUntil(t, got, func(c schemas.ScaleCommand) bool { return c.Done })
	for i, r := range cmds {
		c := r.cmd
		if want, _ := p.Target(time.Duration(c.ElapsedNs)); c.TargetVUs != want || c.Seq != uint64(i+1) {
			t.Errorf("command %+v: pattern says target %d, want seq %d", c, want, i+1)
		}
		if i > 0 && !c.Done && c.TargetVUs == cmds[i-1].cmd.TargetVUs {
			t.Errorf("command %d repeats target %d", i, c.TargetVUs)
		}
	}
	spike, _ := p.Target(100 * ms)
	for _, r := range cmds {
		if r.cmd.TargetVUs == spike {
			t.Errorf("command %+v for the spike the stall went over", r.cmd)
		}
	}
	if last := cmds[len(cmds)-1].cmd; !last.Done || last.ElapsedNs != int64(p.Duration()) {
		t.Errorf("last command %+v, want done at %v", last, p.Duration())
	}
}

func TestRunStartAfterEndSendsDoneOnly(t *testing.T) {
	conn, got := openBus(t)
	p := pattern.Constant(3, time.Second)
	t0 := time.Now().Add(-time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := mustNew(t, Config{RunID: testRunID, Pattern: p, Start: t0}, conn).Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	cmds := collectUntil(t, got, func(c schemas.ScaleCommand) bool { return c.Done })
	if len(cmds) != 1 {
		t.Fatalf("got %d commands, want done only: %+v", len(cmds), cmds)
	}
	checkCommands(t, p, t0, cmds)
}

func TestRunCancelStops(t *testing.T) {
	conn, got := openBus(t)
	// Changes every few milliseconds for an hour: only cancellation ends it.
	p := pattern.Ramp(0, 1_000_000, time.Hour)
	t0 := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		runErr <- mustNew(t, Config{RunID: testRunID, Pattern: p, Start: t0}, conn).Run(ctx)
	}()
	const seen = 3
	collectUntil(t, got, func(c schemas.ScaleCommand) bool { return c.Seq == seen })
	cancel()
	select {
	case err := <-runErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(waitLong):
		t.Fatal("Run still running after cancel")
	}
	for _, r := range publishMarker(t, conn, got) {
		if r.cmd.Done {
			t.Fatalf("a cancelled run published done: %+v", r.cmd)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	conn, _ := openBus(t)
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"bad pattern", Config{RunID: testRunID, Pattern: pattern.Ramp(0, -1, time.Second)}, "stage 2: target -1 is negative"},
		{"empty pattern", Config{RunID: testRunID}, "no stages"},
		{"bad run id", Config{RunID: "a.b", Pattern: pattern.Constant(1, time.Second)}, `"a.b"`},
	} {
		s, err := New(tt.cfg, conn)
		if s != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, %v; want an error with %q", tt.name, s, err, tt.want)
		}
	}
	if _, err := New(Config{RunID: testRunID, Pattern: pattern.Constant(1, time.Second)}, nil); err == nil {
		t.Error("no connection was accepted")
	}
}

// mustNew is New for a config the test knows to be good.
func mustNew(tb testing.TB, cfg Config, conn *bus.Conn) *Scheduler {
	tb.Helper()
	s, err := New(cfg, conn)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// A steep ramp costs commands by its length, not its height: 0 → 10,000 VUs
// over a second takes at most two commands per commandGap, each at a change
// of the target and carrying the pattern's value then.
func TestRunCoalescesASteepRamp(t *testing.T) {
	conn, got := openBus(t)
	p := pattern.Ramp(0, 10_000, time.Second)
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := mustNew(t, Config{RunID: testRunID, Pattern: p, Start: t0}, conn).Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	cmds := collectUntil(t, got, func(c schemas.ScaleCommand) bool { return c.Done })
	checkCommands(t, p, t0, cmds)
	if limit := int(2*p.Duration()/commandGap) + 2; len(cmds) > limit {
		t.Errorf("%d commands for a 1 s ramp, want at most %d", len(cmds), limit)
	}
	if last := cmds[len(cmds)-1].cmd; last.TargetVUs != 10_000 {
		t.Errorf("last command %+v, want the ramp's top", last)
	}
}

// nextCommand lands on the last change within commandGap of the first, and
// on a lone change at once.
func TestNextCommand(t *testing.T) {
	ramp := pattern.Ramp(0, 10_000, 10*time.Second) // a change every ms
	at, vus, ok := nextCommand(ramp, 0)
	if want, _ := ramp.Target(at); !ok || vus != want || at <= commandGap-2*ms || at > commandGap+ms {
		t.Errorf("ramp: next command at %v with %d (ok %v)", at, vus, ok)
	}
	if before, _ := ramp.Target(at - 1); before == vus {
		t.Errorf("ramp: command at %v is not at a change", at)
	}
	steps := pattern.Step(1, 1, time.Second, 3) // changes a second apart
	if at, vus, ok := nextCommand(steps, 0); !ok || at != time.Second || vus != 2 {
		t.Errorf("steps: next command at %v with %d (ok %v), want 1s with 2", at, vus, ok)
	}
	if _, _, ok := nextCommand(pattern.Constant(3, time.Second), 0); ok {
		t.Error("a constant pattern has a next command")
	}
}
