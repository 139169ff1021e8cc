// Package session owns a run's lifecycle: it opens the bus, starts collector,
// worker and scheduler, handles SIGINT/SIGTERM (the first drains, the second
// stops at once), shows progress, prints the summary and writes the result.
package session

import (
	"context"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/scheduler"
	"github.com/loadforge/loadforge/schemas"
)

// Config is a whole run, already validated. The zero value of each field means its default.
type Config struct {
	RunID   string // default: a fresh random id
	Name    string // default: "loadforge"
	Spec    schemas.RunSpec
	Pattern scheduler.Pattern
	// GracefulStop: how long in-flight iterations may finish after the end or the first signal; default 30 s.
	GracefulStop time.Duration
	Bus          bus.Config
	OutPath      string    // write the result document here when set
	Quiet        bool      // no live progress line
	Stdout       io.Writer // summary; default os.Stdout
	Stderr       io.Writer // live progress; default os.Stderr
	Logger       *slog.Logger
	// Signals delivers SIGINT/SIGTERM; nil means the session subscribes to the real ones.
	Signals <-chan os.Signal
}

// Run runs the whole test and returns its result. The result's State is
// completed, interrupted (a signal came; the caller exits 130) or aborted.
// An error means the run could not be carried out (the caller exits 1).
func Run(ctx context.Context, cfg Config) (*schemas.Result, error) { panic("TODO") }
