// Package cli is loadforge's command line: cobra commands whose flags and
// LOADFORGE_* variables are read through viper and mapped onto plain structs
// (plan overrides, session.Config). Exit codes are decided here, in Run.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loadforge/loadforge/internal/plan"
	"github.com/loadforge/loadforge/schemas"
	"github.com/loadforge/loadforge/session"
)

// Exit codes, as CONTRACT.md lists them.
const (
	ExitOK          = 0
	ExitFailure     = 1   // the run could not be carried out, or was aborted
	ExitUsage       = 2   // bad usage, plan or flag
	ExitThreshold   = 99  // a threshold failed
	ExitInterrupted = 130 // SIGINT/SIGTERM; the result is still written
)

// Set at build time with -ldflags "-X github.com/loadforge/loadforge/internal/cli.version=…".
var (
	version = ""
	commit  = ""
)

// exitError carries the exit code for an error; a nil err exits quietly.
// Errors without one are usage errors (flags, arguments, plans): exit 2.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// failure marks err as a runtime failure (exit 1) rather than a usage error.
func failure(err error) error { return &exitError{code: ExitFailure, err: err} }

// Run runs loadforge with args (without the program name) and returns the
// process exit code. Errors are printed to stderr as one line "loadforge: …".
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{runSession: session.Run, stdout: stdout, stderr: stderr}
	return a.run(ctx, args)
}

// app is one invocation: its outputs, and the session runner (a seam for tests
// of the command line that must not start a real run).
type app struct {
	runSession     func(context.Context, session.Config) (*schemas.Result, error)
	stdout, stderr io.Writer
}

func (a *app) run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := ExitUsage
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	var many plan.Errors
	if errors.As(err, &many) {
		// Every bad threshold on its own line, so that each names its line.
		for _, e := range many {
			fmt.Fprintf(a.stderr, "loadforge: %s\n", schemas.OneLine(e.Error()))
		}
		return code
	}
	msg := schemas.OneLine(err.Error())
	if strings.HasPrefix(msg, "unknown command ") && len(args) > 0 {
		if s := root.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", s[0])
		}
	}
	fmt.Fprintf(a.stderr, "loadforge: %s\n", msg)
	return code
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "loadforge",
		Short: "HTTP load testing: closed-model VUs, scenarios, a NATS bus between scheduler, workers and collector",
		Long: `loadforge runs HTTP load tests. A plan (YAML) gives the scenario and the load;
flags and LOADFORGE_* environment variables override it (defaults < plan <
environment < flags).

  loadforge target &                         # the built-in demo target on 127.0.0.1:8080
  loadforge run configs/quickstart.yaml      # run a plan
  loadforge run --url http://127.0.0.1:8080/ --vus 10 --duration 30s
  loadforge validate configs/checkout.yaml   # check a plan, print its load timeline

Exit codes: 0 completed, 1 runtime failure, 2 bad usage, plan or flag,
99 a threshold failed, 130 interrupted.`,
		SilenceUsage:               true,
		SilenceErrors:              true,
		DisableSuggestions:         true, // Run adds a suggestion on the same line
		SuggestionsMinimumDistance: 2,
		CompletionOptions:          cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	root.AddCommand(
		a.runCommand(),
		a.validateCommand(),
		a.workerCommand(),
		a.tapCommand(),
		a.exporterCommand(),
		a.targetCommand(),
		a.versionCommand(),
		a.compareCommand(),
		a.reportCommand(),
	)
	a.versionFlag(root)
	plainBoolUsage(root)
	return root
}
