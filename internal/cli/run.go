package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loadforge/loadforge/internal/bus"
	"github.com/loadforge/loadforge/internal/plan"
	"github.com/loadforge/loadforge/schemas"
	"github.com/loadforge/loadforge/session"
	"github.com/loadforge/loadforge/worker"
)

// planArgs accepts at most one argument, the plan file.
func planArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 1 {
		return fmt.Errorf("%s takes one PLAN.yaml, got %d arguments: %s", cmd.Name(), len(args), strings.Join(args, " "))
	}
	return nil
}

func (a *app) runCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run [PLAN.yaml | URL]",
		Short: "Run a load test: embedded bus, scheduler, local worker and collector",
		Long: `Run a load test from a plan, from flags (--url with --vus/--duration or
--stage, like wrk or hey), or from a plan with flags overriding it. Live
progress goes to stderr, the summary to stdout; --out writes the result.

Exit codes: 0 completed, 1 runtime failure or aborted, 2 bad usage, plan or
flag, 99 a threshold failed (aborted by it or not), 130 interrupted (the
result is still written).`,
		Example: `  loadforge run configs/quickstart.yaml
  loadforge run configs/checkout.yaml --vus 50 --duration 1m --out result.json
  loadforge run --url http://127.0.0.1:8080/ --stage 30s:100 --stage 1m:100
  loadforge run http://127.0.0.1:8080/ --vus 10 --duration 30s`,
		Args: planArgs,
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	addFlags(fs, planSettings)
	addFlags(fs, runSettings)
	addFlags(fs, outputSettings)
	addProfileFlags(fs)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		st, err := newSettings(cmd.Flags(), planSettings, runSettings, outputSettings)
		if err != nil {
			return failure(err)
		}
		cfg, err := a.sessionConfig(st, args)
		if err != nil {
			return err
		}
		junitFile, err := junitPath(st)
		if err != nil {
			return err
		}
		outs, err := readOutputs(st)
		if err != nil {
			return err
		}
		stopProfiles, err := startProfiles(cmd.Flags())
		if err != nil {
			return failure(err)
		}
		res, err := a.runSession(cmd.Context(), cfg)
		if perr := stopProfiles(); perr != nil && err == nil {
			return failure(perr)
		}
		if res != nil {
			if werr := outs.write(res); werr != nil {
				if err == nil {
					return failure(werr)
				}
				fmt.Fprintf(a.stderr, "loadforge: %s\n", schemas.OneLine(werr.Error()))
			}
		}
		if jerr := writeJUnit(junitFile, res); jerr != nil && err == nil {
			return failure(jerr)
		}
		return runOutcome(res, err)
	}
	return cmd
}

// runOutcome maps a run's end onto the exit code.
func runOutcome(res *schemas.Result, err error) error {
	if err != nil {
		if errors.Is(err, bus.ErrNoToken) || errors.Is(err, bus.ErrCredentials) {
			return err
		}
		if errors.Is(err, session.ErrInterrupted) {
			return &exitError{code: ExitInterrupted, err: fmt.Errorf("run: %w", err)}
		}
		if errors.Is(err, session.ErrWorkerRefused) {
			return fmt.Errorf("run: %w", err) // the plan does not fit the workers: exit 2
		}
		return failure(fmt.Errorf("run: %w", err))
	}
	if res == nil {
		return failure(errors.New("run: ended without a result"))
	}
	if res.State == schemas.StateInterrupted {
		return &exitError{code: ExitInterrupted}
	}
	// A failed threshold decides, whether it aborted the run or not.
	if err := failedThresholds(res.Thresholds); err != nil {
		return &exitError{code: ExitThreshold, err: err}
	}
	switch res.State {
	case schemas.StateCompleted:
		return nil
	default:
		return failure(fmt.Errorf("run %s", res.State))
	}
}

// loadPlan reads the plan file (if any), lays the flags and variables over it
// and builds it.
func loadPlan(st *settings, args []string) (*plan.Raw, *plan.Plan, error) {
	raw := plan.New()
	args, overrides, err := urlArgument(args, st.overrides())
	if err != nil {
		return nil, nil, err
	}
	if len(args) == 1 {
		var err error
		if raw, err = plan.ReadFile(args[0]); err != nil {
			return nil, nil, err
		}
	}
	if len(args) == 0 {
		hasURL := false
		for _, o := range overrides {
			hasURL = hasURL || o.Key == plan.KeyURL
		}
		if !hasURL {
			return nil, nil, errNoPlan
		}
	}
	if err := raw.Apply(overrides); err != nil {
		return nil, nil, err
	}
	p, err := raw.Build()
	if err != nil {
		return nil, nil, err
	}
	return raw, p, nil
}

// sessionConfig turns one invocation of run into a session.Config.
func (a *app) sessionConfig(st *settings, args []string) (session.Config, error) {
	var cfg session.Config
	_, p, err := loadPlan(st, args)
	if err != nil {
		return cfg, err
	}
	get := func(flag string) string { return st.text(find(runSettings, flag)) }
	quiet, err := st.bool(find(runSettings, "quiet"))
	if err != nil {
		return cfg, err
	}
	console := session.NewConsole(a.stderr)
	logger, err := a.logger(st, quiet, console)
	if err != nil {
		return cfg, err
	}
	busCfg := bus.Config{
		URL: get("nats"), Listen: get("listen"), Token: get("token"), User: get("user"), Password: get("password"),
		TapToken: get("tap-token"), ControlToken: get("control-token"),
		TLS: bus.TLSFiles{Cert: get("tls-cert"), Key: get("tls-key"), CA: get("tls-ca")},
	}
	if err := checkBus(busCfg); err != nil {
		return cfg, err
	}
	workers, workersTimeout, err := remoteSettings(st)
	if err != nil {
		return cfg, err
	}
	outside := busCfg.Listen != "" || busCfg.URL != ""
	if workers > 0 && !outside {
		return cfg, fmt.Errorf("--workers %d: remote workers need a bus they can reach: give --listen HOST:PORT or --nats URL", workers)
	}
	if err := iterationsOverWorkers(p, workers); err != nil {
		return cfg, err
	}
	if p.External != nil && !outside {
		return cfg, errors.New("load external: control commands need a bus others can reach: give --listen HOST:PORT or --nats URL")
	}
	if p.External != nil && busCfg.URL == "" && (busCfg.Token != "" || busCfg.User != "") && busCfg.ControlToken == "" {
		// The workers' credential may not publish on control: nobody could steer the run.
		return cfg, errors.New("load external: with a workers' credential on the bus only --control-token may publish control commands: give --control-token")
	}
	if workers == 0 {
		if err := checkFDs(p); err != nil {
			return cfg, err
		}
	} else {
		p.Spec.PeakVUs = peakVUs(p) // each remote worker checks its share
	}
	out := get("out")
	if out != "" {
		if err := checkWritable("--out", out, out); err != nil {
			return cfg, err
		}
	}
	raw := get("raw")
	if raw != "" {
		if workers > 0 {
			return cfg, fmt.Errorf("--raw %s: with --workers each remote worker writes its own records: give --raw to loadforge worker", raw)
		}
		if err := worker.CheckRawPath(raw); err != nil {
			return cfg, fmt.Errorf("--raw %s: %w", raw, err)
		}
	}
	prom := get("prometheus")
	if prom != "" {
		if err := checkHostPort("--prometheus", prom); err != nil {
			return cfg, err
		}
	}
	graceful := p.GracefulStop
	if graceful == 0 {
		// The session reads zero as "its default" and a negative value as none.
		graceful = -1
	}
	cfg = session.Config{
		Name:         p.Name,
		Spec:         p.Spec,
		Pattern:      p.Pattern,
		GracefulStop: graceful,
		Bus:          busCfg,
		OutPath:      out,
		Quiet:        quiet,
		Stdout:       a.stdout,
		Stderr:       console,
		Logger:       logger,
	}
	cfg.Workers, cfg.WorkersTimeout, cfg.External = workers, workersTimeout, p.External
	cfg.Thresholds = p.Thresholds
	cfg.Load = p.Load
	if len(args) == 1 {
		cfg.PlanFile = args[0]
	}
	cfg.Prometheus, cfg.RawPath = prom, raw
	return cfg, nil
}

// logger builds the run's structured logger on the run's console, where
// the live progress line is. Without an explicit --log-level, --quiet lowers
// it to warnings, and so does a terminal with text logs: there the progress
// line tells how the run goes and info lines would only push it around.
func (a *app) logger(st *settings, quiet bool, console *session.Console) (*slog.Logger, error) {
	format := st.text(find(runSettings, "log-format"))
	return a.loggerTo(console, st, runSettings, quiet || (console.Terminal() && format == "text"))
}

// loggerOf builds the logger from the log-level and log-format settings of group.
func (a *app) loggerOf(st *settings, group []setting, quiet bool) (*slog.Logger, error) {
	return a.loggerTo(a.stderr, st, group, quiet)
}

// loggerTo builds a logger writing to w; warnOnly lowers the default level
// (not an explicit one) to warnings.
func (a *app) loggerTo(w io.Writer, st *settings, group []setting, warnOnly bool) (*slog.Logger, error) {
	levelSetting := find(group, "log-level")
	levelText := st.text(levelSetting)
	_, levelOrigin, levelSet := st.lookup(levelSetting)
	if !levelSet {
		levelOrigin = "--log-level"
		if levelText == "" {
			levelText = "info"
		}
		if warnOnly {
			levelText = "warn"
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(levelText)); err != nil {
		return nil, fmt.Errorf("%s: want debug, info, warn or error, got %q", levelOrigin, levelText)
	}
	opts := &slog.HandlerOptions{Level: level}
	formatSetting := find(group, "log-format")
	switch format := st.text(formatSetting); format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		_, origin, _ := st.lookup(formatSetting)
		return nil, fmt.Errorf("%s: want text or json, got %q", origin, format)
	}
}

// checkBus refuses bus settings that cannot work, before a run starts.
func checkBus(c bus.Config) error {
	// Check refuses a --listen that is not HOST:PORT, too.
	if err := c.Check(); err != nil {
		if errors.Is(err, bus.ErrNoToken) {
			return fmt.Errorf("--listen %s: %w", c.Listen, err)
		}
		return err
	}
	return nil
}

// remoteSettings reads --workers and --workers-timeout.
func remoteSettings(st *settings) (int, time.Duration, error) {
	ws := find(runSettings, "workers")
	workers, err := strconv.Atoi(strings.TrimSpace(st.text(ws)))
	if err != nil || workers < 0 {
		_, origin, _ := st.lookup(ws)
		return 0, 0, fmt.Errorf("%s: want a whole number ≥ 0, got %q", originOr(origin, ws), st.text(ws))
	}
	ts := find(runSettings, "workers-timeout")
	timeout, err := time.ParseDuration(strings.TrimSpace(st.text(ts)))
	if err != nil || timeout <= 0 {
		_, origin, _ := st.lookup(ts)
		return 0, 0, fmt.Errorf("%s: want a positive duration like 30s or 2m, got %q", originOr(origin, ts), st.text(ts))
	}
	return workers, timeout, nil
}

func originOr(origin string, s setting) string {
	if origin == "" {
		return "--" + s.flag
	}
	return origin
}

func (a *app) validateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate [PLAN.yaml]",
		Short: "Check a plan and print the load timeline it would run (exit 0 or 2)",
		Long: `Check a plan, with the same flags and LOADFORGE_* variables as run laid over
it, and print its requests, settings and load timeline. Exit 0 when the plan
is valid, 2 (with the reason on stderr) when it is not.`,
		Args: planArgs,
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	addFlags(fs, planSettings)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		st, err := newSettings(cmd.Flags(), planSettings)
		if err != nil {
			return failure(err)
		}
		raw, p, err := loadPlan(st, args)
		if err != nil {
			return err
		}
		return printPlan(a.stdout, raw, p)
	}
	return cmd
}

// printPlan writes a plan's summary and load timeline for people.
func printPlan(w io.Writer, raw *plan.Raw, p *plan.Plan) error {
	var b strings.Builder
	name := p.Name
	if name == "" {
		name = "(unnamed)"
	}
	if raw.File != "" {
		name += " (" + raw.File + ")"
	}
	fmt.Fprintf(&b, "plan %s\n\n", name)

	sc := p.Spec.Scenario
	nameW, methodW := 0, 0
	for _, q := range sc.Requests() {
		nameW, methodW = max(nameW, len(q.Name)), max(methodW, len(q.Method))
	}
	request := func(q schemas.Request) {
		line := fmt.Sprintf("  %-*s  %-*s  %s", nameW, q.Name, methodW, q.Method, q.URL)
		if len(q.Body) > 0 {
			line += fmt.Sprintf("  (body %d B)", len(q.Body))
		}
		b.WriteString(line + "\n")
	}
	if len(sc.Setup) > 0 {
		b.WriteString("setup, once per VU\n")
		for _, q := range sc.Setup {
			request(q)
		}
	}
	total := 0
	for _, t := range sc.Tasks {
		total += t.Weight
	}
	for _, t := range sc.Tasks {
		fmt.Fprintf(&b, "task %s, weight %d: %.1f%% of iterations\n", t.Name, t.Weight, 100*float64(t.Weight)/float64(total))
		for _, q := range t.Requests {
			request(q)
		}
	}
	if len(sc.Teardown) > 0 {
		b.WriteString("teardown, once per VU\n")
		for _, q := range sc.Teardown {
			request(q)
		}
	}

	printScenario(&b, p)

	think := "none"
	if p.Spec.ThinkMaxNs > 0 {
		lo, hi := time.Duration(p.Spec.ThinkMinNs), time.Duration(p.Spec.ThinkMaxNs)
		think = lo.String()
		if hi != lo {
			think += "-" + hi.String()
		}
	}
	rps := "none"
	if p.Spec.RPSLimit > 0 {
		rps = strconv.FormatFloat(p.Spec.RPSLimit, 'g', -1, 64) + " req/s"
	}
	fmt.Fprintf(&b, "\nthink %s · timeout %s · rps limit %s · graceful stop %s\n",
		think, time.Duration(p.Spec.TimeoutNs), rps, p.GracefulStop)
	printThresholds(&b, p.Thresholds)

	if p.External != nil {
		fmt.Fprintf(&b, "\nload %s\n\ncontrol commands go to loadforge.<run_id>.control (see schemas/README.md)\n", p.Load)
		if _, err := io.WriteString(w, b.String()); err != nil {
			return failure(err)
		}
		return nil
	}
	d := p.Pattern.Duration()
	if p.Pattern.Open() {
		printRateTimeline(&b, p, d)
		_, err := io.WriteString(w, b.String())
		if err != nil {
			return failure(err)
		}
		return nil
	}
	peak := 0
	for _, s := range p.Pattern.Stages {
		peak = max(peak, s.Target)
	}
	fmt.Fprintf(&b, "\nload %s: %s in all, peak %d VUs\n", p.Load, d, peak)

	step := timelineStep(d)
	fmt.Fprintf(&b, "\ntimeline (every %s)\n", step)
	for _, pt := range p.Pattern.Timeline(step) {
		bar := 0
		if peak > 0 {
			bar = (pt.VUs*40 + peak/2) / peak
		}
		fmt.Fprintf(&b, "%s\n", strings.TrimRight(fmt.Sprintf("%10s %7d  %s", pt.At, pt.VUs, strings.Repeat("#", bar)), " "))
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return failure(err)
	}
	return nil
}

// niceSteps are the timeline steps a person reads easily.
var niceSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// maxTimelineRows bounds the printed timeline beyond a minute.
const maxTimelineRows = 60

// timelineStep is 1 s up to a minute, else the smallest nice step that prints
// at most maxTimelineRows rows (the end counts as a row).
func timelineStep(d time.Duration) time.Duration {
	if d <= time.Minute {
		return time.Second
	}
	rows := func(step time.Duration) time.Duration {
		n := d/step + 1
		if d%step != 0 {
			n++
		}
		return n
	}
	for _, s := range niceSteps {
		if rows(s) <= maxTimelineRows {
			return s
		}
	}
	// Beyond days: whole hours.
	step := (d/(maxTimelineRows-2) + time.Hour - 1).Truncate(time.Hour)
	return max(step, time.Hour)
}
