package collector

import (
	"context"
	"testing"

	"github.com/loadforge/loadforge/internal/bus"
)

// New checks its config and does no I/O: it subscribes nothing, so Ready
// stays open until Run has subscribed.
func TestNewValidatesAndDoesNoIO(t *testing.T) {
	b, err := bus.Open(bus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	conn, err := b.Connect("collector")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{RunID: "a.b"}, conn); err == nil {
		t.Error("a run id of two tokens was accepted")
	}
	if _, err := New(Config{RunID: "r"}, nil); err == nil {
		t.Error("no connection was accepted")
	}
	c, err := New(Config{RunID: "r"}, conn)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Ready():
		t.Error("ready before Run")
	default:
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case <-c.Ready():
	case err := <-done:
		t.Fatalf("Run ended before it was ready: %v", err)
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}
