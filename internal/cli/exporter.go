package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/loadforge/loadforge/exporter"
	"github.com/loadforge/loadforge/schemas"
)

// DefaultExporterListen is the exporter's address: 9464 is the default port
// of OpenTelemetry's Prometheus exporter, where dashboards look first.
const DefaultExporterListen = "127.0.0.1:9464"

var exporterSettings = []setting{
	{flag: "nats", key: "nats", def: "nats://127.0.0.1:4222", usage: "`URL` of the bus (a run's --listen address, or a NATS server)"},
	{flag: "listen", key: "listen", def: DefaultExporterListen, usage: "serve /metrics on `HOST:PORT`"},
	{flag: "run", key: "run", usage: "follow only the run `ID` (default: every run on the bus)"},
	{flag: "retain", key: "retain", def: exporter.DefaultRetain.String(), usage: "keep an ended run's series for `D`, so that scrapes see its final values"},
	{flag: "buckets", key: "buckets", usage: "latency histogram bounds in seconds, `B1,B2,…` ascending (default " + bucketsText(exporter.DefaultBuckets) + ")"},
	{flag: "log-format", key: "log_format", def: "text", usage: "log `FORMAT` on stderr: text or json"},
	{flag: "log-level", key: "log_level", def: "info", usage: "log `LEVEL`: debug, info, warn or error"},
}

func bucketsText(bs []float64) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = strconv.FormatFloat(b, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

// parseBuckets reads --buckets (empty: the default).
func parseBuckets(text, origin string) ([]float64, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var out []float64
	for _, p := range strings.Split(text, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f <= 0 || (len(out) > 0 && f <= out[len(out)-1]) {
			return nil, fmt.Errorf("%s: want positive seconds in ascending order like 0.01,0.1,1, got %q", origin, text)
		}
		out = append(out, f)
	}
	return out, nil
}

func (a *app) exporterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exporter",
		Short: "Serve the runs on a bus as Prometheus metrics (/metrics)",
		Long: `Follow every run on the bus at --nats (or the one of --run) and serve its
metrics on http://--listen/metrics for Prometheus: requests by endpoint, method
and status, errors by kind, a latency histogram, VUs, iterations, dropped
iterations, checks, threshold verdicts and the run's state. It only reads the
bus (a tap credential is enough) and may start before the bus is up: it
waits for it. Stops on SIGINT or SIGTERM.

Exit codes: 0 stopped by a signal, 1 the bus refused the connection or the
address could not be served, 2 bad usage.`,
		Example: `  loadforge run plan.yaml --listen 127.0.0.1:4222 &
  loadforge exporter --nats nats://127.0.0.1:4222 --listen 127.0.0.1:9464`,
		Args: cobra.NoArgs,
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	addFlags(fs, exporterSettings)
	addFlags(fs, clientSettings)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		st, err := newSettings(cmd.Flags(), exporterSettings, clientSettings)
		if err != nil {
			return failure(err)
		}
		cred, err := clientCredentials(st)
		if err != nil {
			return err
		}
		log, err := a.loggerOf(st, exporterSettings, false)
		if err != nil {
			return err
		}
		get := func(flag string) (string, string) {
			s := find(exporterSettings, flag)
			_, origin, _ := st.lookup(s)
			return st.text(s), originOr(origin, s)
		}
		listen, origin := get("listen")
		if err := checkHostPort(origin, listen); err != nil {
			return err
		}
		run, origin := get("run")
		if run != "" && !schemas.ValidToken(run) {
			return fmt.Errorf("%s %q: a run id is one token, without dots or spaces", origin, run)
		}
		retainText, origin := get("retain")
		retain, err := time.ParseDuration(strings.TrimSpace(retainText))
		if err != nil || retain <= 0 {
			return fmt.Errorf("%s: want a positive duration like 10m, got %q", origin, retainText)
		}
		bucketText, origin := get("buckets")
		buckets, err := parseBuckets(bucketText, origin)
		if err != nil {
			return err
		}
		url, _ := get("nats")

		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		conn, err := dialWhenUp(ctx, url, "loadforge-exporter", watchRetryEvery, cred, log)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return failure(fmt.Errorf("exporter: %w", err))
		}
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			_ = conn.Close(closeCtx)
		}()
		ex, err := exporter.New(exporter.Config{RunID: run, Listen: listen, Buckets: buckets, Retain: retain,
			ProcessMetrics: true, Logger: log}, conn)
		if err != nil {
			return failure(err)
		}
		done := make(chan error, 1)
		go func() { done <- ex.Run(ctx) }()
		select {
		case <-ex.Ready():
			log.Info("serving metrics", "url", "http://"+ex.Addr()+"/metrics", "bus", url)
		case err := <-done:
			if err != nil {
				return failure(err)
			}
			return nil
		}
		if err := <-done; err != nil {
			return failure(err)
		}
		return nil
	}
	return cmd
}
