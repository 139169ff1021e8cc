// Package worker runs virtual users: a LIFO pool of goroutines, each running the
// scenario against real HTTP endpoints, recording into sharded histograms, and
// publishing one metric event per interval on the bus.
package worker

import (
	"context"
	"net/http"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/schemas"
)

// Config configures a Worker. The zero value of each field means its default.
type Config struct {
	RunID    string
	WorkerID string // default: a random id
	Name     string // default: host name
	Spec     schemas.RunSpec
	// FlushInterval between metric events; default and maximum 250 ms. It must divide one second.
	FlushInterval time.Duration
	// Shards of histograms and counters; default 4 × GOMAXPROCS.
	Shards int
	// Client overrides the tuned HTTP client (tests only).
	Client *http.Client
}

// Worker is one process's pool of VUs in a run.
type Worker struct {
	cfg  Config
	conn *bus.Conn
}

// New returns a worker that takes commands from and publishes metrics on conn.
func New(cfg Config, conn *bus.Conn) (*Worker, error) {
	panic("TODO")
}

// Ready is closed once the worker is subscribed to state and scale and has said hello.
func (w *Worker) Ready() <-chan struct{} { panic("TODO") }

// Run serves the run until the session's stopping state has been carried out
// (final event and bye published) or ctx is done (hard stop, final event and bye,
// then return). It returns only after every VU goroutine has exited.
func (w *Worker) Run(ctx context.Context) error { panic("TODO") }
