// Package plan reads a loadforge plan (YAML), lets flags and the environment
// override its settings, validates it and builds what a run needs. Every error
// is one line naming the field, and the file and line where it came from.
package plan

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/loadforge/loadforge/schemas"
)

// Raw is a plan as written: every optional setting is a pointer (nil: not given)
// so that overrides and defaults can tell "absent" from "zero". It remembers
// where each field came from, so later errors can point at it.
type Raw struct {
	// File is the plan file as named on the command line; empty without one.
	File     string
	Name     string
	BaseURL  string
	Headers  [][2]string // default headers of every request, in plan order
	Scenario Scenario
	Load     Load
	Think    *Think
	RPSLimit *float64
	Timeout  *time.Duration

	// HTTPClient picks the HTTP client (see schemas.RunSpec); empty: auto.
	HTTPClient string
	// HTTPVersion, KeepAlive and TLS say how to reach the target (see tls.go).
	HTTPVersion string
	KeepAlive   *bool
	TLS         TLS

	// Scenarios: run-wide values, data sets, and the VUs' cookie jars (nil: on).
	Vars    [][2]string
	Data    []DataDecl
	Cookies *bool
	// Thresholds in plan order, then those given by flag or variable.
	Thresholds []RawThreshold

	// Node is the parsed YAML document (nil without a file).
	Node *yaml.Node

	dir     string            // @file bodies of the plan are read relative to it
	lines   map[string]int    // field path -> line in File
	origins map[string]string // field path -> flag or variable that set it
}

// Scenario is what each VU runs: setup once, weighted tasks, teardown once.
type Scenario struct {
	Setup    []Request
	Tasks    []Task
	Teardown []Request
}

// Task is one iteration's requests; Weight (default 1) is its relative frequency.
type Task struct {
	Name     string
	Weight   *int
	Requests []Request
	single   bool // written as request: rather than requests:
}

// Request is one HTTP request as written: a Path joined to the plan's base_url,
// or a full URL. Body "@file" names a file to send.
type Request struct {
	Name    string
	Method  string
	Path    string
	URL     string
	Headers [][2]string
	Body    string

	// Scenario keys (see scenario.go).
	Query   [][2]string
	JSON    string // the json key as JSON text
	Timeout *time.Duration
	Extract []ExtractDecl
	Checks  []schemas.Check

	dir  string // where an @file body is read from; "" is the working directory
	path string // the request's field path (set by allRequests)
}

// Load holds the load forms; exactly one of VUs/Duration, Stages, Ramp, Step,
// Spike (closed model), Rate/Duration and RateStages (open model) must be
// given. Stages and RateStages are nil when not given.
type Load struct {
	VUs          *int
	Duration     *time.Duration
	Stages       []Stage
	Ramp         *RampLoad
	Step         *StepLoad
	Spike        *SpikeLoad
	External     *ExternalLoad
	GracefulStop *time.Duration
	// Iterations (with VUs and MaxDuration): shared iterations over all VUs.
	Iterations  *int
	MaxDuration *time.Duration

	// The open model: iterations started per second, whatever the responses do.
	Rate            *float64
	RateStages      []RateStage
	MaxVUs          *int // the pool's cap
	PreAllocatedVUs *int // VUs started at once
}

// RateStage goes linearly from the previous rate (0 before the first) to
// Target iterations per second over Duration.
type RateStage struct {
	Duration *time.Duration
	Target   *float64
}

// Stage goes linearly from the previous target to Target over Duration.
type Stage struct {
	Duration *time.Duration
	Target   *int
}

// RampLoad goes linearly from From (default 0) to To VUs over Duration.
type RampLoad struct {
	From, To *int
	Duration *time.Duration
}

// StepLoad starts at Start VUs (default 0) and adds Step every Every, Steps times.
type StepLoad struct {
	Start, Step *int
	Every       *time.Duration
	Steps       *int
}

// SpikeLoad holds Base VUs (default 0), jumps to Peak at At for Hold, then
// returns to Base until Duration.
type SpikeLoad struct {
	Base, Peak         *int
	At, Hold, Duration *time.Duration
}

// ExternalLoad takes its target VUs from control commands published by
// another program: VUs (default 0) run until the first, at most MaxVUs
// (default DefaultExternalMaxVUs) ever run, and the run lasts Duration
// (default: until a command says done, or a signal).
type ExternalLoad struct {
	VUs, MaxVUs *int
	Duration    *time.Duration
}

// Think is the pause after each iteration, uniform in [Min, Max].
type Think struct {
	Min, Max time.Duration
}

// New returns an empty plan, for runs given by flags alone.
func New() *Raw {
	return &Raw{lines: map[string]int{}, origins: map[string]string{}}
}

// Error is a plan error: Where names the field (file:line: path, or the flag
// or variable that set it), Msg says what is wrong.
type Error struct {
	Where string
	Msg   string
}

func (e *Error) Error() string {
	if e.Where == "" {
		return e.Msg
	}
	return e.Where + ": " + e.Msg
}

// errorAt makes an Error for the field at path, located by the field itself or
// its nearest ancestor that has a known origin or line.
func (r *Raw) errorAt(path, msg string) *Error {
	for p := path; ; p = parentPath(p) {
		if o, ok := r.origins[p]; ok {
			return &Error{Where: o, Msg: msg}
		}
		if l, ok := r.lines[p]; ok && r.File != "" {
			where := r.File + ":" + strconv.Itoa(l)
			if path != "" {
				where += ": " + path
			}
			return &Error{Where: where, Msg: msg}
		}
		if p == "" {
			return &Error{Where: path, Msg: msg}
		}
	}
}

// parentPath strips the last element of a field path: "a.b[2]" -> "a.b" -> "a" -> "".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// forget drops the positions of path and everything under it (an override
// replaced it, so the file's lines no longer describe it).
func (r *Raw) forget(path string) {
	for k := range r.lines {
		if under(k, path) {
			delete(r.lines, k)
		}
	}
	for k := range r.origins {
		if under(k, path) {
			delete(r.origins, k)
		}
	}
}

func under(k, path string) bool {
	return k == path || strings.HasPrefix(k, path+".") || strings.HasPrefix(k, path+"[")
}

// defaultName is the plan's name when it gives none: its file's base name.
func (r *Raw) defaultName() string {
	if r.File == "" {
		return ""
	}
	base := filepath.Base(r.File)
	return strings.TrimSuffix(base, filepath.Ext(base))
}
