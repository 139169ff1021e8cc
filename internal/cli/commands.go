package cli

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/loadforge/loadforge/internal/target"
)

var targetSettings = []setting{
	{flag: "addr", key: "addr", def: target.DefaultAddr, usage: "listen on `HOST:PORT` (port 0 picks a free one)"},
}

func (a *app) targetCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "target",
		Short: "Run the built-in demo target (fast /, /delay?ms=N, /status?code=N, /json, …)",
		Long: `Run the built-in demo target until SIGINT or SIGTERM:

  /                     200 "ok\n", as fast as it gets
  /delay?ms=N           answers after N ms (at most 60000)
  /status?code=N        answers with status N (200-599)
  /json                 a small JSON document
  /stall?every=D&ms=N   stalls for the first N ms of every period D (default 2s, 500)
  /echo                 answers with the request's body
  /stats                {"requests": n}: requests served, /stats excluded`,
		Args: cobra.NoArgs,
	}
	addFlags(cmd.Flags(), targetSettings)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		st, err := newSettings(cmd.Flags(), targetSettings)
		if err != nil {
			return failure(err)
		}
		addr := st.text(targetSettings[0])
		if err := checkHostPort("--addr", addr); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		srv := target.New(target.Config{Addr: addr})
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		select {
		case <-srv.Ready():
			fmt.Fprintf(a.stderr, "loadforge target listening on http://%s\n", srv.Addr())
		case err := <-done:
			return failure(err)
		}
		if err := <-done; err != nil {
			return failure(err)
		}
		fmt.Fprintf(a.stderr, "loadforge target: served %d requests\n", srv.Handler().Requests())
		return nil
	}
	return cmd
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print version and build info",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v, c, modified := buildInfo()
			if modified {
				c += " (modified)"
			}
			_, err := fmt.Fprint(a.stdout, versionText(v, c))
			if err != nil {
				return failure(err)
			}
			return nil
		},
	}
}

// versionText is what version and --version print.
func versionText(version, commit string) string {
	return fmt.Sprintf("loadforge %s\ncommit    %s\ngo        %s %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// buildInfo gives the version and commit: the -ldflags values when set, else
// what the Go toolchain recorded in the binary.
func buildInfo() (ver, rev string, modified bool) {
	ver, rev = version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			ver = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if ver == "" {
		ver = "dev"
	}
	if rev == "" {
		rev = "unknown"
	}
	return ver, rev, modified
}
