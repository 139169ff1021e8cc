package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/loadforge/loadforge/internal/pattern"
	"github.com/loadforge/loadforge/internal/plan"
	"github.com/loadforge/loadforge/schemas"
	"github.com/loadforge/loadforge/session"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// clearEnv hides any LOADFORGE_* variable of the machine from the test
// (viper reads an empty variable as unset).
func clearEnv(t *testing.T) {
	t.Helper()
	for _, g := range [][]setting{planSettings, runSettings, tapSettings, targetSettings, workerSettings, clientSettings} {
		for _, s := range g {
			t.Setenv(s.env(), "")
		}
	}
}

type invocation struct {
	code           int
	stdout, stderr string
	cfg            *session.Config // what run passed to the session, if it got that far
}

// invoke runs the command line with a session stand-in that records its
// config and ends the run as end says.
func invoke(t *testing.T, end func() (*schemas.Result, error), args ...string) invocation {
	t.Helper()
	var out, errOut bytes.Buffer
	var inv invocation
	a := &app{
		stdout: &out,
		stderr: &errOut,
		runSession: func(_ context.Context, cfg session.Config) (*schemas.Result, error) {
			inv.cfg = &cfg
			if end == nil {
				return &schemas.Result{State: schemas.StateCompleted}, nil
			}
			return end()
		},
	}
	inv.code = a.run(context.Background(), args)
	inv.stdout, inv.stderr = out.String(), errOut.String()
	return inv
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodPlan = `name: from-plan
base_url: http://127.0.0.1:8080
scenario:
  tasks:
    - request: {path: /}
load:
  vus: 1
  duration: 10s
think: 1s
timeout: 3s
rps_limit: 5
`

func TestBadInputExitsTwoWithOneLineNamingIt(t *testing.T) {
	ro := unwritableDir(t)
	clearEnv(t)
	dir := t.TempDir()
	malformed := writeFile(t, dir, "bad.yaml", "load: [1, 2\n  vus: x")
	unknownKey := writeFile(t, dir, "unknown.yaml", strings.Replace(goodPlan, "  vus: 1", "  vuz: 1", 1))
	negative := writeFile(t, dir, "neg.yaml", strings.Replace(goodPlan, "vus: 1", "vus: -3", 1))
	externalPlan := writeFile(t, dir, "ext.yaml", strings.Replace(goodPlan, "  vus: 1\n  duration: 10s\n", "  external: {max_vus: 5}\n", 1))
	u := "http://127.0.0.1:1/"
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"negative vus", nil, []string{"run", "--url", u, "--vus", "-1", "--duration", "1s"}, "--vus: must be ≥ 0, got -1"},
		{"bad url", nil, []string{"run", "--url", "not a url", "--vus", "1", "--duration", "1s"}, `--url: must be an absolute http or https URL with a host, got "not a url"`},
		{"malformed stage", nil, []string{"run", "--url", u, "--stage", "30s"}, `--stage "30s": want DURATION:TARGET`},
		{"stage bad target", nil, []string{"run", "--url", u, "--stage", "30s:x"}, `--stage "30s:x": target: want a whole number`},
		{"bare duration", nil, []string{"run", "--url", u, "--vus", "1", "--duration", "5"}, "--duration: 5 has no unit (write 5s)"},
		{"bad duration", nil, []string{"run", "--url", u, "--vus", "1", "--duration", "soon"}, `--duration: want a duration like 30s`},
		{"missing plan", nil, []string{"run", filepath.Join(dir, "nope.yaml")}, "nope.yaml: no such file or directory"},
		{"malformed plan", nil, []string{"run", malformed}, "bad.yaml:"},
		{"unknown plan key", nil, []string{"run", unknownKey}, "unknown.yaml:7: load.vuz: unknown field"},
		{"negative vus in plan", nil, []string{"run", negative}, "neg.yaml:7: load.vus: must be ≥ 0, got -3"},
		{"validate negative", nil, []string{"validate", negative}, "neg.yaml:7: load.vus: must be ≥ 0, got -3"},
		{"unknown flag", nil, []string{"run", "--vuz", "3"}, "unknown flag: --vuz"},
		{"unknown command", nil, []string{"runn"}, `unknown command "runn" for "loadforge" (did you mean "run"?)`},
		{"two plans", nil, []string{"run", "a.yaml", "b.yaml"}, "run takes one PLAN.yaml, got 2 arguments"},
		{"no plan, no url", nil, []string{"run", "--vus", "1"}, "give a PLAN.yaml, a URL or --url"},
		{"env value", map[string]string{"LOADFORGE_VUS": "many"}, []string{"run", "--url", u, "--duration", "1s"}, `LOADFORGE_VUS: want a whole number, got "many"`},
		{"env bool", map[string]string{"LOADFORGE_QUIET": "yes"}, []string{"run", "--url", u, "--duration", "1s"}, `LOADFORGE_QUIET: want true or false, got "yes"`},
		{"flag bool", nil, []string{"run", "--url", u, "--duration", "1s", "--quiet=maybe"}, `invalid argument "maybe" for "--quiet"`},
		{"open model and vus", nil, []string{"run", "--url", u, "--rate", "100", "--vus", "2", "--duration", "1s"}, "--vus and --rate: give one load form"},
		{"open model setting on a closed run", map[string]string{"LOADFORGE_MAX_VUS": "9"}, []string{"validate", "--url", u, "--duration", "1s"}, "LOADFORGE_MAX_VUS: applies to an open model"},
		{"bad rate stage", nil, []string{"run", "--url", u, "--rate-stage", "5s"}, `--rate-stage "5s": want DURATION:RATE`},
		{"workers without a reachable bus", nil, []string{"run", "--url", u, "--duration", "1s", "--workers", "2"}, "--workers 2: remote workers need a bus they can reach"},
		{"negative workers", nil, []string{"run", "--url", u, "--duration", "1s", "--workers", "-1", "--listen", "127.0.0.1:0"}, `--workers: want a whole number ≥ 0, got "-1"`},
		{"workers in env", map[string]string{"LOADFORGE_WORKERS": "two"}, []string{"run", "--url", u, "--duration", "1s"}, `LOADFORGE_WORKERS: want a whole number ≥ 0, got "two"`},
		{"workers timeout", nil, []string{"run", "--url", u, "--duration", "1s", "--workers-timeout", "0s"}, `--workers-timeout: want a positive duration`},
		{"listen beyond loopback without token", nil, []string{"run", "--url", u, "--vus", "1", "--duration", "1s", "--listen", "0.0.0.0:0"}, "--token (or --user and --password) is required"},
		{"user without password", nil, []string{"run", "--url", u, "--duration", "1s", "--listen", "0.0.0.0:0", "--user", "w"}, "--user and --password go together"},
		{"tap token alone", nil, []string{"run", "--url", u, "--duration", "1s", "--listen", "127.0.0.1:0", "--tap-token", "t"}, "--tap-token and --control-token need the workers' credential too"},
		{"same token twice", nil, []string{"run", "--url", u, "--duration", "1s", "--listen", "127.0.0.1:0", "--token", "t", "--control-token", "t"}, "--control-token and --token are the same"},
		{"external without a reachable bus", nil, []string{"run", externalPlan}, "load external: control commands need a bus others can reach"},
		{"external with only the workers' token", nil, []string{"run", externalPlan, "--listen", "127.0.0.1:0", "--token", "w"}, "load external: with a workers' credential on the bus only --control-token may publish"},
		{"listen and nats", nil, []string{"run", "--url", u, "--duration", "1s", "--listen", "127.0.0.1:0", "--nats", "nats://127.0.0.1:4222"}, "--listen and --nats"},
		{"log level", nil, []string{"run", "--url", u, "--duration", "1s", "--log-level", "loud"}, `--log-level: want debug, info, warn or error, got "loud"`},
		{"log format", map[string]string{"LOADFORGE_LOG_FORMAT": "xml"}, []string{"run", "--url", u, "--duration", "1s"}, `LOADFORGE_LOG_FORMAT: want text or json, got "xml"`},
		{"out directory", nil, []string{"run", "--url", u, "--duration", "1s", "--out", filepath.Join(dir, "no", "r.json")}, "--out"},
		{"out is a directory", nil, []string{"run", "--url", u, "--duration", "1s", "--out", dir}, "--out " + dir + ": is a directory"},
		{"out unwritable directory", nil, []string{"run", "--url", u, "--duration", "1s", "--out", ro + "/r.json"}, "--out " + ro + "/r.json: cannot write in"},
		{"validate header with a control character", nil, []string{"validate", "--url", u, "--duration", "1s", "--header", "X-A: a\x01b"}, `header X-A: the value holds a control character`},
		{"run header with a control character", nil, []string{"run", "--url", u, "--duration", "1s", "--header", "X-A: a\x01b"}, `header X-A: the value holds a control character`},
		{"method without url", nil, []string{"validate", negative, "--method", "POST"}, "--method: applies to the one-request scenario"},
		{"bad header", nil, []string{"validate", "--url", u, "--duration", "1s", "--header", "nocolon"}, `--header "nocolon": want 'Name: value'`},
		{"tap subject", nil, []string{"tap", "a..b"}, `subject "a..b": empty token`},
		{"target addr", nil, []string{"target", "--addr", "8080"}, `--addr "8080": want HOST:PORT`},
		{"worker user without password", nil, []string{"worker", "--user", "u"}, "--user and --password go together"},
		{"worker arguments", nil, []string{"worker", "extra"}, `unknown command "extra"`},
		{"worker log level", nil, []string{"worker", "--log-level", "loud"}, `--log-level: want debug, info, warn or error, got "loud"`},
		{"tap cert without key", nil, []string{"tap", "--tls-cert", "c.pem"}, "--tls-cert and --tls-key go together"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			inv := invoke(t, func() (*schemas.Result, error) {
				t.Error("a run started")
				return nil, errors.New("no run")
			}, tc.args...)
			if inv.code != ExitUsage {
				t.Errorf("exit %d, want %d; stderr %q", inv.code, ExitUsage, inv.stderr)
			}
			if lines := strings.Split(strings.TrimSuffix(inv.stderr, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "loadforge: ") {
				t.Errorf("want one line \"loadforge: …\" on stderr, got %q", inv.stderr)
			}
			if !strings.Contains(inv.stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", inv.stderr, tc.want)
			}
			if inv.stdout != "" {
				t.Errorf("stdout %q, want nothing", inv.stdout)
			}
		})
	}
}

func TestPrecedencePlanEnvFlag(t *testing.T) {
	clearEnv(t)
	planFile := writeFile(t, t.TempDir(), "p.yaml", goodPlan)
	t.Setenv("LOADFORGE_VUS", "2")      // beaten by --vus
	t.Setenv("LOADFORGE_TIMEOUT", "4s") // beats the plan's 3s
	t.Setenv("LOADFORGE_BASE_URL", "http://127.0.0.1:9090")
	t.Setenv("LOADFORGE_HEADER", "X-A: 1\nX-B: two, three")
	t.Setenv("LOADFORGE_QUIET", "true")
	t.Setenv("LOADFORGE_OUT", filepath.Join(t.TempDir(), "env.json")) // beaten by --out
	out := filepath.Join(t.TempDir(), "flag.json")
	inv := invoke(t, nil, "run", planFile, "--vus", "3", "--out", out, "--header", `X-B: "quoted", with comma`)
	if inv.code != ExitOK || inv.cfg == nil {
		t.Fatalf("exit %d: %s", inv.code, inv.stderr)
	}
	cfg := inv.cfg
	if want := pattern.Constant(3, 10*time.Second); !reflect.DeepEqual(cfg.Pattern, want) {
		t.Errorf("pattern %+v, want %+v (--vus over LOADFORGE_VUS, duration from the plan)", cfg.Pattern, want)
	}
	if cfg.Spec.TimeoutNs != int64(4*time.Second) {
		t.Errorf("timeout %s, want LOADFORGE_TIMEOUT's 4s over the plan's", time.Duration(cfg.Spec.TimeoutNs))
	}
	if cfg.Spec.RPSLimit != 5 || cfg.Spec.ThinkMinNs != int64(time.Second) || cfg.Name != "from-plan" {
		t.Errorf("plan settings lost: rps %g, think %d, name %q", cfg.Spec.RPSLimit, cfg.Spec.ThinkMinNs, cfg.Name)
	}
	q := cfg.Spec.Scenario.Tasks[0].Requests[0]
	if q.URL != "http://127.0.0.1:9090/" {
		t.Errorf("url %q, want LOADFORGE_BASE_URL's", q.URL)
	}
	wantHeaders := [][2]string{{"X-B", `"quoted", with comma`}}
	if !reflect.DeepEqual(q.Headers, wantHeaders) {
		t.Errorf("headers %q, want %q (--header replaces the variable's list)", q.Headers, wantHeaders)
	}
	if !cfg.Quiet || cfg.OutPath != out {
		t.Errorf("quiet %v, out %q", cfg.Quiet, cfg.OutPath)
	}
	if cfg.Signals != nil || cfg.Logger == nil || cfg.Stdout == nil || cfg.Stderr == nil {
		t.Errorf("run must leave signals to the session and give it a logger and outputs: %+v", cfg)
	}
	if cfg.GracefulStop != schemas.DefaultGracefulStop {
		t.Errorf("graceful stop %s", cfg.GracefulStop)
	}
}

func TestEnvironmentListsAndOneRequestRuns(t *testing.T) {
	clearEnv(t)
	t.Setenv("LOADFORGE_STAGE", "2s:4, 1s:0")
	t.Setenv("LOADFORGE_HEADER", "X-A: 1, 2\nX-B: 3")
	inv := invoke(t, nil, "run", "--url", "http://127.0.0.1:1/x", "--method", "put", "--body", "hi", "--graceful-stop", "0s", "--nats", "nats://127.0.0.1:4222")
	if inv.code != ExitOK {
		t.Fatalf("exit %d: %s", inv.code, inv.stderr)
	}
	want := pattern.Pattern{Stages: []pattern.Stage{{Duration: 2 * time.Second, Target: 4}, {Duration: time.Second, Target: 0}}}
	if !reflect.DeepEqual(inv.cfg.Pattern, want) {
		t.Errorf("pattern %+v, want %+v", inv.cfg.Pattern, want)
	}
	q := inv.cfg.Spec.Scenario.Tasks[0].Requests[0]
	if !reflect.DeepEqual(q.Headers, [][2]string{{"X-A", "1, 2"}, {"X-B", "3"}}) {
		t.Errorf("headers %q: LOADFORGE_HEADER holds one per line", q.Headers)
	}
	if q.Method != "PUT" || string(q.Body) != "hi" || q.URL != "http://127.0.0.1:1/x" {
		t.Errorf("request %+v", q)
	}
	if inv.cfg.GracefulStop >= 0 {
		t.Errorf("graceful stop %s: a zero graceful stop must reach the session as none, not its default", inv.cfg.GracefulStop)
	}
	if inv.cfg.Bus.URL != "nats://127.0.0.1:4222" {
		t.Errorf("bus %+v", inv.cfg.Bus)
	}
}

func TestRunOutcomeExitCodes(t *testing.T) {
	clearEnv(t)
	args := []string{"run", "--url", "http://127.0.0.1:1/", "--duration", "1s"}
	cases := []struct {
		name     string
		res      *schemas.Result
		err      error
		code     int
		stderrRe string
	}{
		{"completed", &schemas.Result{State: schemas.StateCompleted}, nil, ExitOK, `^$`},
		{"interrupted", &schemas.Result{State: schemas.StateInterrupted}, nil, ExitInterrupted, `^$`},
		{"aborted", &schemas.Result{State: schemas.StateAborted}, nil, ExitFailure, `^loadforge: run aborted\n$`},
		{"error", nil, errors.New("bus down"), ExitFailure, `^loadforge: run: bus down\n$`},
		{"no result", nil, nil, ExitFailure, `^loadforge: run: ended without a result\n$`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := invoke(t, func() (*schemas.Result, error) { return tc.res, tc.err }, args...)
			if inv.code != tc.code || !regexp.MustCompile(tc.stderrRe).MatchString(inv.stderr) {
				t.Errorf("exit %d, stderr %q; want %d, %s", inv.code, inv.stderr, tc.code, tc.stderrRe)
			}
		})
	}
}

func TestValidateExamplePlans(t *testing.T) {
	clearEnv(t)
	files, err := filepath.Glob("../../configs/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("example plans: %v %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			inv := invoke(t, nil, "validate", f)
			if inv.code != ExitOK || inv.stderr != "" {
				t.Fatalf("exit %d: %s", inv.code, inv.stderr)
			}
			raw, err := plan.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := raw.Build()
			if err != nil {
				t.Fatal(err)
			}
			for _, task := range p.Spec.Scenario.Tasks {
				if !strings.Contains(inv.stdout, fmt.Sprintf("task %s, weight %d", task.Name, task.Weight)) {
					t.Errorf("summary lacks task %q:\n%s", task.Name, inv.stdout)
				}
				for _, q := range task.Requests {
					if !strings.Contains(inv.stdout, q.URL) {
						t.Errorf("summary lacks %s:\n%s", q.URL, inv.stdout)
					}
				}
			}
			if p.Pattern.Open() {
				checkRateTimeline(t, inv.stdout, p)
				return
			}
			// The timeline rows: "<at> <vus>" from 0 to the end of the pattern.
			rows := regexp.MustCompile(`(?m)^\s+(\S+)\s+(\d+)\b`).FindAllStringSubmatch(inv.stdout[strings.Index(inv.stdout, "timeline"):], -1)
			if len(rows) < 2 || len(rows) > 61 {
				t.Fatalf("%d timeline rows:\n%s", len(rows), inv.stdout)
			}
			if rows[0][1] != "0s" || rows[len(rows)-1][1] != p.Pattern.Duration().String() {
				t.Errorf("timeline runs %s..%s, want 0s..%s", rows[0][1], rows[len(rows)-1][1], p.Pattern.Duration())
			}
			for _, r := range rows {
				at, err := time.ParseDuration(r[1])
				if err != nil {
					t.Fatalf("row %q", r[0])
				}
				if vus, _ := p.Pattern.Target(at); fmt.Sprint(vus) != r[2] {
					t.Errorf("at %s: %s VUs printed, the pattern says %d", at, r[2], vus)
				}
			}
		})
	}
}

func TestTimelineStep(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 10 * time.Second, time.Minute} {
		if s := timelineStep(d); s != time.Second {
			t.Errorf("%s: step %s, want 1s", d, s)
		}
	}
	for _, d := range []time.Duration{61 * time.Second, 90 * time.Second, 5 * time.Minute, time.Hour + time.Second, 36 * time.Hour, 400 * 24 * time.Hour} {
		s := timelineStep(d)
		rows := len(pattern.Constant(1, d).Timeline(s))
		if rows > maxTimelineRows {
			t.Errorf("%s: step %s gives %d rows", d, s, rows)
		}
		// No smaller nice step would have done (rows counted without sampling).
		for _, n := range niceSteps {
			fewer := int(d/n) + 1
			if d%n != 0 {
				fewer++
			}
			if n < s && fewer <= maxTimelineRows {
				t.Errorf("%s: step %s, but %s fits too", d, s, n)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	inv := invoke(t, nil, "version")
	if inv.code != ExitOK || !strings.HasPrefix(inv.stdout, "loadforge ") || !strings.Contains(inv.stdout, runtime.Version()) {
		t.Errorf("exit %d, stdout %q", inv.code, inv.stdout)
	}
}

func TestHelpExitsZero(t *testing.T) {
	inv := invoke(t, nil, "run", "--help")
	if inv.code != ExitOK || !strings.Contains(inv.stdout, "--stage D:N") || !strings.Contains(inv.stdout, "--vus N") {
		t.Errorf("exit %d, stdout %q", inv.code, inv.stdout)
	}
}

// lineSignal is a writer that reports each line written to it.
type lineSignal struct {
	lines chan string
	buf   bytes.Buffer
}

func newLineSignal() *lineSignal { return &lineSignal{lines: make(chan string, 1024)} }

// Write is called by one goroutine at a time in these tests.
func (w *lineSignal) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line) // keep the partial line
			return len(p), nil
		}
		w.lines <- strings.TrimSuffix(line, "\n")
	}
}

func nextLine(t *testing.T, w *lineSignal) string {
	t.Helper()
	select {
	case l := <-w.lines:
		return l
	case <-time.After(20 * time.Second):
		t.Fatal("no line within 20 s")
	}
	return ""
}

func TestTargetCommandServesUntilCancelled(t *testing.T) {
	clearEnv(t)
	stderr := newLineSignal()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := &app{stdout: &bytes.Buffer{}, stderr: stderr}
	code := make(chan int, 1)
	go func() { code <- a.run(ctx, []string{"target", "--addr", "127.0.0.1:0"}) }()
	m := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(nextLine(t, stderr))
	if m == nil {
		t.Fatal("no listening line")
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(m[1] + "/json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	client.CloseIdleConnections()
	cancel()
	select {
	case c := <-code:
		if c != ExitOK {
			t.Errorf("exit %d", c)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("target did not stop")
	}
	if last := nextLine(t, stderr); last != "loadforge target: served 1 requests" {
		t.Errorf("last line %q", last)
	}
}

// unwritableDir is an existing directory this process may not create files
// in; as root only a kernel file system refuses.
func unwritableDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() == 0 {
		if runtime.GOOS != "linux" {
			t.Skip("no unwritable directory for root here")
		}
		return "/proc/self"
	}
	d := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(d, 0o500); err != nil {
		t.Fatal(err)
	}
	return d
}

// A header given twice by flag is sent with both values; the first replaces
// the plan's own.
func TestRepeatedHeaderKeepsEveryValue(t *testing.T) {
	clearEnv(t)
	inv := invoke(t, nil, "run", "--url", "http://127.0.0.1:1/", "--vus", "1", "--duration", "1s",
		"--header", "X-A: 1", "--header", "x-a: 2", "--header", "X-B: 3")
	if inv.code != ExitOK || inv.cfg == nil {
		t.Fatalf("exit %d: %s", inv.code, inv.stderr)
	}
	got := inv.cfg.Spec.Scenario.Tasks[0].Requests[0].Headers
	want := [][2]string{{"X-A", "1"}, {"x-a", "2"}, {"X-B", "3"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("headers %q, want %q", got, want)
	}
}
