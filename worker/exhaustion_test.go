package worker

import (
	"context"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/loadforge/loadforge/internal/http1"
	"github.com/loadforge/loadforge/schemas"
)

func TestExhaustedNamesTheCause(t *testing.T) {
	dial := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", errno)}
	}
	cases := map[error]int{
		dial(syscall.EMFILE):        causeFDs,
		dial(syscall.ENFILE):        causeFDs,
		dial(syscall.EADDRNOTAVAIL): causePorts,
		dial(syscall.ENOBUFS):       causeMemory,
		dial(syscall.ENOMEM):        causeMemory,
		dial(syscall.ECONNREFUSED):  causeNone,
		context.DeadlineExceeded:    causeNone,
	}
	for err, want := range cases {
		if got := exhausted(err); got != want {
			t.Errorf("exhausted(%v) = %d, want %d", err, got, want)
		}
	}
}

// A dial the generator cannot make for want of descriptors is not a request:
// the events count it apart, by cause, and the requests still equal what the
// target received.
func TestNotSentIsCountedApart(t *testing.T) {
	for _, client := range clients {
		t.Run(client, func(t *testing.T) {
			tg := newTarget(t)
			cfg := baseConfig(task("ok", 1, tg.URL+"/ok"))
			cfg.Spec.HTTPClient = client
			h := startWorker(t, cfg)
			// The first dials fail as if the process had no descriptor left.
			const failing = 6
			var dials atomic.Int64
			short := func(dial dialFunc) dialFunc {
				return func(ctx context.Context, network, addr string) (net.Conn, error) {
					if dials.Add(1) <= failing {
						return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("socket", syscall.EMFILE)}
					}
					return dial(ctx, network, addr)
				}
			}
			d := &net.Dialer{Timeout: 5 * time.Second}
			h.w.fastDial = http1.DialFunc(short(d.DialContext))
			if err := h.w.prepareClients(client, schemas.HTTPVersionAuto, nil, false); err != nil {
				t.Fatal(err)
			}
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.DialContext = short(d.DialContext)
			h.w.client = &http.Client{Transport: tr, CheckRedirect: noRedirects}
			h.running()
			h.scale(2)
			h.waitUntil("traffic", func() bool { return tg.total() >= 50 })
			h.stop(5*time.Second, false)
			if err := h.wait(); err != nil {
				t.Fatal(err)
			}
			evs := h.events()
			s := sumEvents(evs)
			if s.requests != uint64(tg.total()) || s.errors != 0 {
				t.Errorf("events count %d requests (%d errors), the target saw %d", s.requests, s.errors, tg.total())
			}
			var notSent uint64
			for _, ev := range evs {
				for cause, n := range ev.NotSent {
					if cause != "fds" {
						t.Errorf("not_sent cause %q, want fds", cause)
					}
					notSent += n
				}
			}
			if notSent != failing {
				t.Errorf("not_sent %d, want the %d failed dials", notSent, failing)
			}
			if ok := s.endpoint("ok"); ok.ErrorsByKind[schemas.ErrOther] != 0 {
				t.Errorf("failed dials counted as errors: %+v", ok.ErrorsByKind)
			}
		})
	}
}
