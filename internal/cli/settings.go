package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/loadforge/loadforge/internal/plan"
	"github.com/loadforge/loadforge/schemas"
)

// A setting ties a flag to a viper key and a LOADFORGE_* variable. Values are
// read as text and parsed by the plan (or here), never by viper's casts: those
// turn a bare 5 into 5ns and a bad number into 0 without a word.
type setting struct {
	flag  string // without the leading --
	key   string // viper key; for plan settings, the plan's field path
	kind  kind
	def   string // flag default (text and bool settings)
	usage string
	// sep splits a list setting's environment value (a flag is repeated instead).
	sep string
}

type kind int

const (
	kindText kind = iota
	kindBool
	kindList
)

// env is the setting's environment variable: LOADFORGE_ and the flag in capitals.
func (s setting) env() string {
	return "LOADFORGE_" + strings.ToUpper(strings.ReplaceAll(s.flag, "-", "_"))
}

// planSettings override the plan (run and validate).
var planSettings = []setting{
	{flag: "name", key: plan.KeyName, usage: "name of the run (default: the plan's name)"},
	{flag: "base-url", key: plan.KeyBaseURL, usage: "the `URL` request paths are joined to"},
	{flag: "url", key: plan.KeyURL, usage: "one-request scenario: request `URL` (replaces the plan's scenario)"},
	{flag: "method", key: plan.KeyMethod, usage: "`METHOD` of the --url request (default GET)"},
	{flag: "header", key: plan.KeyHeaders, kind: kindList, sep: "\n",
		usage: "header `'Name: value'` for every request (repeatable; one per line in LOADFORGE_HEADER)"},
	{flag: "body", key: plan.KeyBody, usage: "body of the --url request: `TEXT` or @FILE"},
	{flag: "vus", key: plan.KeyVUs, usage: "closed model: run `N` virtual users (with --duration)"},
	{flag: "duration", key: plan.KeyDuration, usage: "run for `D`, e.g. 30s or 5m: the closed model's --vus or the open model's --rate"},
	{flag: "stage", key: plan.KeyStages, kind: kindList, sep: ",",
		usage: "ramping stage `D:N`: linearly to N VUs over D (repeatable; comma-separated in LOADFORGE_STAGE)"},
	{flag: "think", key: plan.KeyThink, usage: "think time after each iteration: `MIN[-MAX]`, e.g. 1s-2s"},
	{flag: "timeout", key: plan.KeyTimeout, usage: "per-request timeout `D` (default " + schemas.DefaultTimeout.String() + ")"},
	{flag: "graceful-stop", key: plan.KeyGracefulStop, usage: "time `D` in-flight iterations may finish at the end or after SIGINT (default " + schemas.DefaultGracefulStop.String() + ")"},
	{flag: "rps-limit", key: plan.KeyRPSLimit, usage: "at most `R` requests/s over all VUs (0: no limit)"},
	{flag: "http-client", key: plan.KeyHTTPClient, usage: "HTTP `CLIENT`: auto (the fast client wherever HTTP/1.1 is spoken, net/http for HTTP/2), fast or net/http"},
	{flag: "http-version", key: plan.KeyHTTPVersion, usage: "HTTP `VERSION` to the target: auto (ALPN over TLS, HTTP/1.1 over http), 1.1 or 2 (h2c over http)"},
	{flag: "no-keepalive", key: plan.KeyNoKeepAlive, kind: kindBool, def: "false", usage: "open a new connection (and TLS session) for every request"},
	{flag: "insecure", key: plan.KeyTLSInsecure, kind: kindBool, def: "false", usage: "do not verify the target's TLS certificate (like curl -k)"},
	{flag: "target-ca", key: plan.KeyTLSCA, usage: "trust the target's certificates signed by the CAs in `FILE` (PEM), besides the system's"},
	{flag: "target-cert", key: plan.KeyTLSCert, usage: "client certificate `FILE` (PEM) for the target (mTLS; with --target-key)"},
	{flag: "target-key", key: plan.KeyTLSKey, usage: "key `FILE` (PEM) of --target-cert"},
	{flag: "rate", key: plan.KeyRate, usage: "open model: start `R` iterations per second (with --duration), whatever the responses do"},
	{flag: "rate-stage", key: plan.KeyRateStages, kind: kindList, sep: ",",
		usage: "open model, ramping stage `D:R`: linearly to R iterations/s over D (repeatable; comma-separated in LOADFORGE_RATE_STAGE)"},
	{flag: "max-vus", key: plan.KeyMaxVUs, usage: "open model: the most VUs the pool may grow to (`N`, default 1000)"},
	{flag: "pre-vus", key: plan.KeyPreAllocatedVUs, usage: "open model: VUs started at once (`N`, default 1)"},
	{flag: "iterations", key: plan.KeyIterations, usage: "make exactly `N` iterations over all VUs and workers, then complete (with --vus; --duration bounds the run)"},
	{flag: "threshold", key: plan.KeyThresholds, kind: kindList, sep: "\n",
		usage: "pass/fail criterion `'METRIC:EXPR'`, e.g. 'http_req_duration:p(95)<200' (repeatable; one per line in LOADFORGE_THRESHOLD); a failed one exits 99"},
}

// runSettings are run's own settings, outside the plan.
var runSettings = []setting{
	{flag: "out", key: "out", usage: "write the result document (JSON) to `FILE`"},
	{flag: "junit", key: "junit", usage: "write the thresholds' and checks' verdicts as JUnit XML to `FILE` (for CI test reports)"},
	{flag: "quiet", key: "quiet", kind: kindBool, def: "false", usage: "no live progress, summary only"},
	{flag: "log-format", key: "log_format", def: "text", usage: "log `FORMAT` on stderr: text or json"},
	{flag: "log-level", key: "log_level", usage: "log `LEVEL`: debug, info, warn or error (default info; warn with --quiet, or on a terminal with text logs)"},
	{flag: "listen", key: "listen", usage: "let remote workers and consumers reach the embedded bus at `HOST:PORT`"},
	{flag: "token", key: "token", usage: "bus credential `T` of workers (and taps); required for --listen beyond loopback"},
	{flag: "nats", key: "nats", usage: "use the NATS server or cluster at `URL` instead of an embedded one"},
	{flag: "workers", key: "workers", def: "0", usage: "wait for `N` remote workers (loadforge worker) and spread the load over them; 0 runs a local worker"},
	{flag: "workers-timeout", key: "workers_timeout", def: "1m", usage: "how long to wait for the remote workers (`D`)"},
	{flag: "user", key: "user", usage: "bus credential: `USER` (with --password), instead of or besides --token"},
	{flag: "password", key: "password", usage: "bus credential: `PASSWORD` of --user"},
	{flag: "tap-token", key: "tap_token", usage: "a read-only bus credential `T` for taps (listening bus)"},
	{flag: "control-token", key: "control_token", usage: "the bus credential `T` that may send control commands (listening bus)"},
	{flag: "tls-cert", key: "tls_cert", usage: "TLS certificate `FILE` (PEM): the listening bus's, or a client certificate for --nats"},
	{flag: "tls-key", key: "tls_key", usage: "TLS key `FILE` (PEM) of --tls-cert"},
	{flag: "tls-ca", key: "tls_ca", usage: "CA `FILE` (PEM): the listening bus requires client certificates it signed; with --nats, trust the server by it"},
	{flag: "raw", key: "raw", usage: "write one record per request to `FILE` (.csv or .jsonl, .gz to compress)"},
	{flag: "prometheus", key: "prometheus", usage: "serve the run's metrics for Prometheus on `HOST:PORT`/metrics while it runs (as loadforge exporter does)"},
}

// flags registers settings as flags of fs.
func addFlags(fs *pflag.FlagSet, settings []setting) {
	for _, s := range settings {
		usage := s.usage
		switch s.kind {
		case kindBool:
			fs.Bool(s.flag, s.def == "true", usage)
		case kindList:
			fs.StringArray(s.flag, nil, usage)
		default:
			fs.String(s.flag, s.def, usage)
		}
	}
}

// settings reads one invocation's settings: flags over LOADFORGE_* variables,
// through its own viper instance.
type settings struct {
	v  *viper.Viper
	fs *pflag.FlagSet
}

func newSettings(fs *pflag.FlagSet, groups ...[]setting) (*settings, error) {
	v := viper.New()
	for _, g := range groups {
		for _, s := range g {
			if err := v.BindPFlag(s.key, fs.Lookup(s.flag)); err != nil {
				return nil, fmt.Errorf("bind --%s: %w", s.flag, err)
			}
			if err := v.BindEnv(s.key, s.env()); err != nil {
				return nil, fmt.Errorf("bind %s: %w", s.env(), err)
			}
		}
	}
	return &settings{v: v, fs: fs}, nil
}

// lookup returns a setting's values and where they came from ("--vus" or
// "LOADFORGE_VUS"); ok is false when neither the flag nor the variable is set.
func (st *settings) lookup(s setting) (values []string, origin string, ok bool) {
	if !st.v.IsSet(s.key) {
		return nil, "", false
	}
	origin = "--" + s.flag
	if !st.fs.Changed(s.flag) {
		origin = s.env()
	}
	switch x := st.v.Get(s.key).(type) {
	case []string:
		values = x
	case string:
		if s.kind == kindList {
			values = splitList(x, s.sep)
		} else {
			values = []string{x}
		}
	default:
		values = []string{fmt.Sprint(x)}
	}
	return values, origin, true
}

// splitList splits a variable's list value; for "," white space separates too.
func splitList(s, sep string) []string {
	var out []string
	f := func(r rune) bool { return strings.ContainsRune(sep, r) }
	if sep == "," {
		f = func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }
	}
	for _, p := range strings.FieldsFunc(s, f) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// text is a text setting's value, or its default.
func (st *settings) text(s setting) string {
	if vals, _, ok := st.lookup(s); ok && len(vals) > 0 {
		return vals[len(vals)-1]
	}
	return s.def
}

// bool is a boolean setting's value; a variable must say true or false (or 1/0).
func (st *settings) bool(s setting) (bool, error) {
	vals, origin, ok := st.lookup(s)
	if !ok || len(vals) == 0 {
		return s.def == "true", nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(vals[len(vals)-1]))
	if err != nil {
		return false, fmt.Errorf("%s: want true or false, got %q", origin, vals[len(vals)-1])
	}
	return b, nil
}

// overrides collects the plan settings that are set.
func (st *settings) overrides() []plan.Override {
	var out []plan.Override
	for _, s := range planSettings {
		if vals, origin, ok := st.lookup(s); ok {
			out = append(out, plan.Override{Key: s.key, Values: vals, Origin: origin})
		}
	}
	return out
}

func find(group []setting, flag string) setting {
	for _, s := range group {
		if s.flag == flag {
			return s
		}
	}
	panic("cli: no setting --" + flag)
}
