package target

import (
	"testing"
	"time"
)

func TestSlowStartIsSlowOnlyAtTheStart(t *testing.T) {
	srv, _ := newServer(t)
	first := time.Now()
	if code, _ := get(t, srv.Client(), srv.URL+"/slowstart?ms=300"); code != 200 {
		t.Fatalf("status %d", code)
	}
	if d := time.Since(first); d < 300*time.Millisecond {
		t.Errorf("the first request answered after %s, inside the 300 ms slow start", d)
	}
	// The slow start is over: the next answers at once, whatever it asks.
	code, _ := get(t, srv.Client(), srv.URL+"/slowstart?ms=60000")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	if d := time.Since(first); d > 30*time.Second {
		t.Errorf("a request after the slow start took until %s", d)
	}
}

func TestSlowStartWithDelay(t *testing.T) {
	srv, _ := newServer(t)
	began := time.Now()
	if code, _ := get(t, srv.Client(), srv.URL+"/slowstart?ms=60000&delay=50"); code != 200 {
		t.Fatalf("status %d", code)
	}
	if d := time.Since(began); d < 50*time.Millisecond || d > 30*time.Second {
		t.Errorf("answered after %s, want the 50 ms delay", d)
	}
	if code, _ := get(t, srv.Client(), srv.URL+"/slowstart?delay=x"); code != 400 {
		t.Errorf("bad delay: status %d, want 400", code)
	}
}
