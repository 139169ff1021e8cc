// Package junit writes a run's verdicts as JUnit XML, the format CI systems
// (GitLab's unit test reports, Jenkins' JUnit plugin, GitHub's test reporter
// actions) show as test results. It works from the result document alone, so
// a saved result can be turned into a report later.
//
// The document has one testsuite per kind of verdict:
//
//   - "run": one testcase, the run itself; an error when it did not complete
//     (aborted or interrupted). It carries the run's duration, so the report's
//     total time is the run's.
//   - "thresholds": one testcase per threshold expression; a failure when it failed.
//   - "checks <endpoint>": one testcase per named check of the endpoint; a
//     failure when any response failed it.
//
// Every testcase has a classname (GitLab shows it as the suite) and a name
// unique within it (GitLab keeps only the first of duplicates).
package junit

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/loadforge/loadforge/internal/output"
	"github.com/loadforge/loadforge/schemas"
)

// Suite names; the classname of a testcase is "loadforge.<run name>.<suite>".
const (
	SuiteRun        = "run"
	SuiteThresholds = "thresholds"
	// SuiteChecks prefixes the checks suite of each endpoint: "checks <endpoint>".
	SuiteChecks = "checks"
)

type testsuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Suites   []testsuite `xml:"testsuite"`
}

type testsuite struct {
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Errors     int         `xml:"errors,attr"`
	Skipped    int         `xml:"skipped,attr"`
	Time       string      `xml:"time,attr"`
	Timestamp  string      `xml:"timestamp,attr,omitempty"`
	Properties *properties `xml:"properties,omitempty"`
	Cases      []testcase  `xml:"testcase"`
}

type properties struct {
	List []property `xml:"property"`
}

type property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type testcase struct {
	Name      string   `xml:"name,attr"`
	Classname string   `xml:"classname,attr"`
	Time      string   `xml:"time,attr"`
	Failure   *outcome `xml:"failure,omitempty"`
	Error     *outcome `xml:"error,omitempty"`
	Skipped   *outcome `xml:"skipped,omitempty"`
	SystemOut string   `xml:"system-out,omitempty"`

	seconds float64
}

// outcome is a failure, error or skipped element. The text repeats the
// message: some readers show only the attribute, others (GitLab) only the text.
type outcome struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// Write writes r's verdicts to w as a JUnit XML document.
func Write(w io.Writer, r *schemas.Result) error {
	doc := build(r)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

// WriteFile writes the document to path as output.WriteFile does:
// atomically for a regular file, so that a CI job that picks the file up
// never sees half of it; a symbolic link is followed, a FIFO written into.
func WriteFile(path string, r *schemas.Result) error {
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := output.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("write junit %s: %w", path, err)
	}
	return nil
}

func build(r *schemas.Result) testsuites {
	name := r.Name
	if name == "" {
		name = "loadforge"
	}
	class := func(suite string) string { return xmlText("loadforge." + name + "." + suite) }
	stamp := timestamp(r.StartedAt)
	props := []property{{"run_id", r.RunID}, {"state", r.State}}
	if r.AbortReason != "" {
		props = append(props, property{"abort_reason", r.AbortReason})
	}

	suites := []testsuite{{Name: SuiteRun, Timestamp: stamp, Properties: &properties{props}, Cases: []testcase{runCase(r, class(SuiteRun))}}}

	if len(r.Thresholds) > 0 {
		s := testsuite{Name: SuiteThresholds, Timestamp: stamp}
		names := uniqueNames{}
		for _, th := range r.Thresholds {
			s.Cases = append(s.Cases, thresholdCase(th, class(SuiteThresholds), names))
		}
		suites = append(suites, s)
	}

	withChecks := false
	for _, e := range r.Endpoints {
		if len(e.Checks) == 0 {
			continue
		}
		withChecks = true
		suite := SuiteChecks + " " + e.Name
		s := testsuite{Name: suite, Timestamp: stamp}
		names := uniqueNames{}
		for _, c := range e.Checks {
			s.Cases = append(s.Cases, checkCase(names.of(c.Name), class(suite), c.Passes, c.Fails))
		}
		suites = append(suites, s)
	}
	// Checks counted only for the run as a whole still get their verdict.
	if !withChecks && r.Checks != nil {
		suites = append(suites, testsuite{Name: SuiteChecks, Timestamp: stamp, Cases: []testcase{
			checkCase("all checks", class(SuiteChecks), r.Checks.Passes, r.Checks.Fails),
		}})
	}

	doc := testsuites{Name: "loadforge " + name}
	var total float64
	for i := range suites {
		s := &suites[i]
		var secs float64
		for _, c := range s.Cases {
			s.Tests++
			switch {
			case c.Failure != nil:
				s.Failures++
			case c.Error != nil:
				s.Errors++
			case c.Skipped != nil:
				s.Skipped++
			}
			secs += c.seconds
		}
		s.Time = seconds(secs)
		total += secs
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}
	doc.Time = seconds(total)
	doc.Suites = suites
	return doc
}

// runCase is the run itself: it passes when the run completed.
func runCase(r *schemas.Result, class string) testcase {
	c := testcase{Name: "completed", Classname: class, Time: seconds(r.DurationS), seconds: r.DurationS}
	t := r.Totals
	var out strings.Builder
	fmt.Fprintf(&out, "state %s after %.1f s: %d requests (%.1f/s), %d errors; latency p50 %s ms, p95 %s ms, p99 %s ms, max %s ms",
		r.State, r.DurationS, t.Requests, t.RPS, t.Errors,
		number(t.LatencyMs.P50), number(t.LatencyMs.P95), number(t.LatencyMs.P99), number(t.LatencyMs.Max))
	for _, w := range r.Warnings {
		out.WriteString("\nwarning: " + w)
	}
	c.SystemOut = out.String()
	switch r.State {
	case schemas.StateCompleted:
	case schemas.StateAborted:
		msg := "run aborted"
		if r.AbortReason != "" {
			msg += ": " + r.AbortReason
		}
		c.Error = &outcome{Message: msg, Type: "aborted", Text: msg}
	case schemas.StateInterrupted:
		msg := "run interrupted before the end of its load (SIGINT or SIGTERM)"
		c.Error = &outcome{Message: msg, Type: "interrupted", Text: msg}
	default:
		msg := fmt.Sprintf("run ended in state %q", r.State)
		c.Error = &outcome{Message: msg, Type: "state", Text: msg}
	}
	return c
}

func thresholdCase(th schemas.ThresholdResult, class string, names uniqueNames) testcase {
	c := testcase{Name: names.of(th.Metric + " " + th.Expression), Classname: class, Time: seconds(0)}
	if th.OK {
		c.SystemOut = "observed " + number(th.Value)
		return c
	}
	msg := fmt.Sprintf("%s %s failed: observed %s", th.Metric, th.Expression, number(th.Value))
	if th.Aborted {
		msg += "; it aborted the run"
	}
	c.Failure = &outcome{Message: msg, Type: "threshold", Text: fmt.Sprintf(
		"%s\n\nmetric: %s\nexpression: %s\nobserved: %s\nabort_on_fail: %t\naborted: %t",
		msg, th.Metric, th.Expression, number(th.Value), th.AbortOnFail, th.Aborted)}
	return c
}

func checkCase(name, class string, passes, fails uint64) testcase {
	c := testcase{Name: name, Classname: class, Time: seconds(0)}
	total := passes + fails
	switch {
	case total == 0:
		msg := "never evaluated: no response reached this check"
		c.Skipped = &outcome{Message: msg, Text: msg}
	case fails > 0:
		msg := fmt.Sprintf("%d of %d failed (%.2f%%)", fails, total, 100*float64(fails)/float64(total))
		c.Failure = &outcome{Message: msg, Type: "check", Text: msg}
	default:
		c.SystemOut = fmt.Sprintf("%d of %d passed", passes, total)
	}
	return c
}

// uniqueNames numbers repeated testcase names within a suite: "x", "x #2", …
type uniqueNames map[string]bool

func (u uniqueNames) of(name string) string {
	// Dedupe the name as readers will see it: XML has no place for some
	// characters, and the encoder turns each of them into U+FFFD.
	name = xmlText(name)
	if strings.TrimSpace(name) == "" {
		name = "(unnamed)"
	}
	cand := name
	for n := 2; u[cand]; n++ {
		cand = name + " #" + strconv.Itoa(n)
	}
	u[cand] = true
	return cand
}

// xmlText replaces what XML 1.0 cannot hold (invalid UTF-8, most control
// characters) with U+FFFD, as the encoder would.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}

// seconds formats a time attribute: seconds with a decimal point, never a
// comma or an exponent (Jenkins and GitLab parse it as a plain decimal).
func seconds(s float64) string {
	if s < 0 {
		s = 0
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}

// number formats an observed value briefly: whole numbers as such, others to
// at most three decimals.
func number(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// timestamp turns the result's RFC 3339 start into the ISO 8601 form JUnit
// schemas allow (UTC, no zone suffix); "" when it does not parse.
func timestamp(rfc3339 string) string {
	t, err := time.Parse(time.RFC3339Nano, rfc3339)
	if err != nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}
