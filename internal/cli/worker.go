package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/fdlimit"
	"github.com/loadforge/loadforge/worker"
)

// clientSettings are the credentials of a client of the bus (worker, tap).
var clientSettings = []setting{
	{flag: "token", key: "token", usage: "bus credential `T`"},
	{flag: "user", key: "user", usage: "bus credential: `USER` (with --password)"},
	{flag: "password", key: "password", usage: "bus credential: `PASSWORD` of --user"},
	{flag: "tls-ca", key: "tls_ca", usage: "trust the bus's TLS certificate by this CA `FILE` (PEM)"},
	{flag: "tls-cert", key: "tls_cert", usage: "present this client certificate `FILE` (PEM)"},
	{flag: "tls-key", key: "tls_key", usage: "key `FILE` (PEM) of --tls-cert"},
}

// clientCredentials reads clientSettings.
func clientCredentials(st *settings) (bus.Credentials, error) {
	get := func(flag string) string { return st.text(find(clientSettings, flag)) }
	c := bus.Credentials{Token: get("token"), User: get("user"), Password: get("password"),
		TLS: bus.TLSFiles{CA: get("tls-ca"), Cert: get("tls-cert"), Key: get("tls-key")}}
	if (c.User == "") != (c.Password == "") {
		return c, errors.New("--user and --password go together")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return c, errors.New("--tls-cert and --tls-key go together")
	}
	return c, nil
}

var workerSettings = []setting{
	{flag: "nats", key: "nats", def: "nats://127.0.0.1:4222", usage: "`URL` of the bus: a run's --listen address, or the NATS server of --nats"},
	{flag: "name", key: "name", usage: "worker `NAME` shown in results (default: the host name)"},
	{flag: "log-format", key: "log_format", def: "text", usage: "log `FORMAT` on stderr: text or json"},
	{flag: "log-level", key: "log_level", def: "info", usage: "log `LEVEL`: debug, info, warn or error"},
	{flag: "raw", key: "raw", usage: "write one record per request of each run to `FILE` with -NAME-RUNID before its extension (.csv or .jsonl, .gz to compress)"},
}

// retryEvery is how often a worker tries a bus that is not up yet.
const retryEvery = time.Second

// watchRetryEvery is how often a tap or an exporter tries a bus that is not
// up yet: often enough to be in before a run started with it sends its
// first metrics (a failed connect on a LAN costs next to nothing).
const watchRetryEvery = 50 * time.Millisecond

var errBusClosed = errors.New("the bus closed the connection")

func (a *app) workerCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Be a remote worker: join runs on a bus and carry a share of their load",
		Long: `Join runs on the bus at --nats as a remote worker: a run started with
--workers N takes the first N workers that answer its call, gives each its
share of the VUs (and of the rps limit), and collects their metrics. When the
run ends, or its coordinator goes away (five seconds of silence), the worker
waits for the next run. A bus that is not up yet is retried every second.
Stops on SIGINT or SIGTERM (a run it is in is cut short, its last metrics sent).

Exit codes: 0 stopped by a signal, 1 the bus refused or closed the connection,
2 bad usage.`,
		Example: `  loadforge run plan.yaml --listen 0.0.0.0:4222 --token s3cret --workers 2 &
  loadforge worker --nats nats://coordinator:4222 --token s3cret --name box-1`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	addFlags(fs, workerSettings)
	addFlags(fs, clientSettings)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		st, err := newSettings(cmd.Flags(), workerSettings, clientSettings)
		if err != nil {
			return failure(err)
		}
		cred, err := clientCredentials(st)
		if err != nil {
			return err
		}
		log, err := a.loggerOf(st, workerSettings, false)
		if err != nil {
			return err
		}
		// A worker's VUs need their connections: use all the descriptors the
		// system allows, and refuse a run whose share would not fit.
		var openFiles worker.OpenFiles
		if soft, hard, err := fdlimit.Raise(); err == nil {
			log.Debug("open-file limit", "soft", soft, "hard", hard)
			openFiles = worker.OpenFiles{Soft: soft, Hard: hard}
		}
		raw := st.text(find(workerSettings, "raw"))
		if raw != "" {
			if err := worker.CheckRawPath(raw); err != nil {
				return fmt.Errorf("--raw %s: %w", raw, err)
			}
		}
		url := st.text(find(workerSettings, "nats"))
		name := st.text(find(workerSettings, "name"))
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		conn, err := dialWhenUp(ctx, url, "loadforge-worker", retryEvery, cred, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return failure(fmt.Errorf("worker: %w", err))
		}
		// A connection the client gave up on (the bus refused us on a
		// reconnect) ends the worker: nothing would bring it back.
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		nc := conn.NATS()
		nc.SetClosedHandler(func(*nats.Conn) { cancel(errBusClosed) })
		nc.SetDisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("bus disconnected; reconnecting", "err", err)
		})
		nc.SetReconnectHandler(func(c *nats.Conn) { log.Info("bus reconnected", "url", c.ConnectedUrl()) })
		defer func() {
			closeCtx, cancelClose := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancelClose()
			_ = conn.Close(closeCtx)
		}()
		srv, err := worker.NewServer(worker.ServeConfig{Name: name, Logger: log, RawPath: raw, OpenFiles: openFiles}, conn)
		if err != nil {
			return fmt.Errorf("worker: %w", err) // a bad --name: usage
		}
		err = srv.Run(ctx)
		if err == nil && errors.Is(context.Cause(ctx), errBusClosed) {
			err = errBusClosed
			if lastErr := nc.LastError(); lastErr != nil {
				err = fmt.Errorf("%w: %v", err, lastErr)
			}
		}
		if err != nil {
			return failure(fmt.Errorf("worker: %w", err))
		}
		return nil
	}
	return cmd
}

// dialWhenUp connects to the bus as name, trying again every `every` while
// nothing answers at url: a worker (or tap, or exporter) may start before its
// coordinator. A refusal (bad credential, TLS) is final.
func dialWhenUp(ctx context.Context, url, name string, every time.Duration, cred bus.Credentials, log *slog.Logger) (*bus.Conn, error) {
	warned := false
	for {
		conn, err := bus.DialWith(url, name, cred)
		if err == nil {
			log.Info("connected to the bus", "url", url)
			return conn, nil
		}
		if !errors.Is(err, nats.ErrNoServers) {
			return nil, err
		}
		if !warned {
			log.Info("waiting for the bus", "url", url, "err", err)
			warned = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(every):
		}
	}
}
