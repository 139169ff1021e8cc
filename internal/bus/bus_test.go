package bus

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"

	"github.com/loadforge/loadforge/schemas"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openBus(t *testing.T, cfg Config) *Bus {
	t.Helper()
	b, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(context.Background()) })
	return b
}

func connect(t *testing.T, b *Bus, name string) *Conn {
	t.Helper()
	c, err := b.Connect(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTypedRoundTripAndMalformedAreDropped(t *testing.T) {
	b := openBus(t, Config{})
	pub, sub := connect(t, b, "pub"), connect(t, b, "sub")
	got := make(chan *schemas.ScaleCommand, 10)
	if _, err := Subscribe(sub, "loadforge.r1.scale", func(_ string, m *schemas.ScaleCommand) { got <- m }); err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	garbage := [][]byte{
		{0xc1}, // never-used msgpack byte
		[]byte("not msgpack at all"),
		mustMarshal(t, map[string]any{"schema_version": 99, "target_vus": 3}), // unknown version
		mustMarshal(t, map[string]any{"target_vus": 3}),                       // no version
		mustMarshal(t, []int{1, 2, 3}),                                        // wrong shape
	}
	for _, g := range garbage {
		if err := pub.NATS().Publish("loadforge.r1.scale", g); err != nil {
			t.Fatal(err)
		}
	}
	want := schemas.ScaleCommand{SchemaVersion: schemas.Version, RunID: "r1", Seq: 7, TargetVUs: 42, AtNs: 123}
	if err := pub.Publish("loadforge.r1.scale", &want); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if *m != want {
			t.Errorf("got %+v, want %+v", *m, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the valid message never arrived")
	}
	// Messages from one publisher arrive in order: the garbage came first.
	if n := sub.Malformed(); n != uint64(len(garbage)) {
		t.Errorf("malformed count %d, want %d", n, len(garbage))
	}
	if len(got) != 0 {
		t.Errorf("%d extra messages delivered", len(got))
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	data, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestListenRequiresTokenBeyondLoopback(t *testing.T) {
	if _, err := Open(Config{Listen: "0.0.0.0:0"}); !errors.Is(err, ErrNoToken) {
		t.Errorf("listen on 0.0.0.0 without a token: err %v, want ErrNoToken", err)
	}
	if _, err := Open(Config{Listen: "nonsense"}); err == nil {
		t.Error("a malformed --listen address was accepted")
	}
}

func TestListeningBusChecksTheToken(t *testing.T) {
	b := openBus(t, Config{Listen: "127.0.0.1:0", Token: "s3cret"})
	url := b.ClientURL()
	if url == "" {
		t.Fatal("no client URL for a listening bus")
	}
	if nc, err := nats.Connect(url, nats.Token("wrong")); err == nil {
		nc.Close()
		t.Error("connected with a wrong token")
	}
	c, err := Dial(url, "s3cret", "outside")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())

	// The stages' in-process connections have their own secret and full rights.
	in := connect(t, b, "inside")
	got := make(chan *schemas.Snapshot, 1)
	if _, err := Subscribe(c, "loadforge.r.snapshot", func(_ string, s *schemas.Snapshot) { got <- s }); err != nil {
		t.Fatal(err)
	}
	c.Flush(context.Background())
	if err := in.Publish("loadforge.r.snapshot", &schemas.Snapshot{SchemaVersion: 1, Seq: 1, Requests: 5}); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s.Requests != 5 {
			t.Errorf("requests %d", s.Requests)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("outside subscriber got nothing")
	}
}

func TestCloseIsIdempotentAndDeliversPending(t *testing.T) {
	b, err := Open(Config{})
	if err != nil {
		t.Fatal(err)
	}
	pub, sub := connect(t, b, "pub"), connect(t, b, "sub")
	n := 0
	if _, err := Subscribe(sub, "x", func(_ string, _ *schemas.WorkerBye) { n++ }); err != nil {
		t.Fatal(err)
	}
	sub.Flush(context.Background())
	for i := 0; i < 1000; i++ {
		pub.Publish("x", &schemas.WorkerBye{SchemaVersion: 1})
	}
	pub.Flush(context.Background())
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if n != 1000 {
		t.Errorf("drain delivered %d of 1000 messages", n)
	}
	if _, err := b.Connect("late"); err == nil {
		t.Error("connect after close succeeded")
	}
}
