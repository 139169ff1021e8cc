package junit

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gojunit "github.com/joshdk/go-junit"

	"github.com/loadforge/loadforge/schemas"
)

func sampleResult() *schemas.Result {
	return &schemas.Result{
		SchemaVersion: schemas.ResultVersion,
		RunID:         "abc123",
		Name:          "checkout",
		State:         schemas.StateCompleted,
		StartedAt:     "2026-11-28T09:00:00.5Z",
		EndedAt:       "2026-11-28T09:00:12.5Z",
		DurationS:     12.25,
		Totals: schemas.Totals{Requests: 1000, Errors: 12, RPS: 81.6,
			LatencyMs: schemas.LatencyMs{P50: 3.5, P95: 180.25, P99: 240, Max: 512}},
		Thresholds: []schemas.ThresholdResult{
			{Metric: "http_req_duration", Expression: "p(95)<200", OK: true, Value: 180.25},
			{Metric: "http_req_duration{endpoint:login}", Expression: "max<300", OK: false, Value: 512},
			{Metric: "http_req_failed", Expression: "rate<0.01", OK: false, Value: 0.012, AbortOnFail: true, Aborted: true},
		},
		Endpoints: []schemas.EndpointResult{
			{Name: "home", Method: "GET", Checks: []schemas.CheckCount{
				{Name: "status is 200", Passes: 990, Fails: 10},
				{Name: "body has <ok> & \"quotes\"", Passes: 1000},
			}},
			{Name: "no checks", Method: "GET"},
			{Name: "login", Method: "POST", Checks: []schemas.CheckCount{
				{Name: "status is 200", Passes: 0, Fails: 0},
				{Name: "status is 200", Passes: 5, Fails: 0}, // a repeated name stays its own testcase
			}},
		},
		Checks: &schemas.CheckTotals{Passes: 1995, Fails: 10},
	}
}

func render(t *testing.T, r *schemas.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A real JUnit reader finds every testcase with the status, classname and
// message the verdicts call for.
func TestJUnitReaderSeesEveryVerdict(t *testing.T) {
	data := render(t, sampleResult())
	suites, err := gojunit.Ingest(data)
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, data)
	}
	type verdict struct {
		status  gojunit.Status
		message string // substring of the message
	}
	want := map[string]map[string]verdict{
		"run": {"completed": {gojunit.StatusPassed, ""}},
		"thresholds": {
			"http_req_duration p(95)<200":               {gojunit.StatusPassed, ""},
			"http_req_duration{endpoint:login} max<300": {gojunit.StatusFailed, "max<300 failed: observed 512"},
			"http_req_failed rate<0.01":                 {gojunit.StatusFailed, "observed 0.012; it aborted the run"},
		},
		"checks home": {
			"status is 200":            {gojunit.StatusFailed, "10 of 1000 failed (1.00%)"},
			`body has <ok> & "quotes"`: {gojunit.StatusPassed, ""},
		},
		"checks login": {
			"status is 200":    {gojunit.StatusSkipped, "never evaluated"},
			"status is 200 #2": {gojunit.StatusPassed, ""},
		},
	}
	if len(suites) != len(want) {
		t.Fatalf("%d suites, want %d: %+v", len(suites), len(want), suites)
	}
	for _, s := range suites {
		cases, ok := want[s.Name]
		if !ok {
			t.Errorf("unexpected suite %q", s.Name)
			continue
		}
		if len(s.Tests) != len(cases) {
			t.Errorf("suite %q: %d testcases, want %d", s.Name, len(s.Tests), len(cases))
		}
		for _, tc := range s.Tests {
			v, ok := cases[tc.Name]
			if !ok {
				t.Errorf("suite %q: unexpected testcase %q", s.Name, tc.Name)
				continue
			}
			if tc.Status != v.status {
				t.Errorf("%s / %s: status %s, want %s", s.Name, tc.Name, tc.Status, v.status)
			}
			if !strings.Contains(tc.Message, v.message) {
				t.Errorf("%s / %s: message %q lacks %q", s.Name, tc.Name, tc.Message, v.message)
			}
			if wantClass := "loadforge.checkout." + s.Name; tc.Classname != wantClass {
				t.Errorf("%s / %s: classname %q, want %q", s.Name, tc.Name, tc.Classname, wantClass)
			}
			if v.status == gojunit.StatusFailed && !strings.Contains(tc.Error.Error(), v.message) {
				t.Errorf("%s / %s: failure text %q lacks %q", s.Name, tc.Name, tc.Error, v.message)
			}
			// GitLab shows the element's text, not its message attribute.
			if v.status == gojunit.StatusSkipped && !strings.Contains(string(data), ">"+tc.Message+"</skipped>") {
				t.Errorf("%s / %s: skipped element has no text", s.Name, tc.Name)
			}
		}
	}
	// The run's testcase carries the run's time, so that the report's total is the run's.
	if d := suites[0].Totals.Duration; d != 12250*time.Millisecond {
		t.Errorf("run suite time %s, want 12.25s", d)
	}
}

// xmlDoc reads the attributes the CI readers rely on, as declared in the file.
type xmlDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    string   `xml:"tests,attr"`
	Failures string   `xml:"failures,attr"`
	Errors   string   `xml:"errors,attr"`
	Skipped  string   `xml:"skipped,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []struct {
		Name      string `xml:"name,attr"`
		Tests     string `xml:"tests,attr"`
		Failures  string `xml:"failures,attr"`
		Errors    string `xml:"errors,attr"`
		Skipped   string `xml:"skipped,attr"`
		Time      string `xml:"time,attr"`
		Timestamp string `xml:"timestamp,attr"`
		Cases     []struct {
			Name      string    `xml:"name,attr"`
			Classname string    `xml:"classname,attr"`
			Time      string    `xml:"time,attr"`
			Failure   *xml.Name `xml:"failure"`
			Error     *xml.Name `xml:"error"`
			Skipped   *xml.Name `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func atoi(t *testing.T, what, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s: %q is not a whole number", what, s)
	}
	return n
}

func secondsOf(t *testing.T, what, s string) float64 {
	t.Helper()
	if strings.ContainsAny(s, ",eE") {
		t.Errorf("%s: time %q must be a plain decimal", what, s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		t.Fatalf("%s: time %q is not a non-negative number", what, s)
	}
	return f
}

// The declared counts agree with the testcases, every testcase has the
// attributes GitLab, Jenkins and GitHub reporters read, and no two testcases
// share a classname and name.
func TestJUnitAttributesAddUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *schemas.Result
	}{
		{"verdicts", sampleResult()},
		{"aborted", func() *schemas.Result {
			r := sampleResult()
			r.State, r.AbortReason = schemas.StateAborted, "threshold http_req_failed rate<0.01 failed"
			return r
		}()},
		{"no thresholds or checks", &schemas.Result{Name: "bare", State: schemas.StateInterrupted, DurationS: 3}},
		{"run-wide checks only", &schemas.Result{Name: "x", State: schemas.StateCompleted, Checks: &schemas.CheckTotals{Passes: 3, Fails: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := render(t, tc.r)
			var doc xmlDoc
			if err := xml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("not XML: %v\n%s", err, data)
			}
			var tests, failures, errs, skipped int
			var total float64
			seen := map[string]bool{}
			for _, s := range doc.Suites {
				var st, sf, se, ss int
				var sum float64
				for _, c := range s.Cases {
					if c.Name == "" || c.Classname == "" || c.Time == "" {
						t.Errorf("suite %q: testcase %+v lacks name, classname or time", s.Name, c)
					}
					key := c.Classname + "\x00" + c.Name
					if seen[key] {
						t.Errorf("duplicate testcase %s / %s", c.Classname, c.Name)
					}
					seen[key] = true
					sum += secondsOf(t, c.Name, c.Time)
					st++
					switch {
					case c.Failure != nil:
						sf++
					case c.Error != nil:
						se++
					case c.Skipped != nil:
						ss++
					}
				}
				if atoi(t, s.Name, s.Tests) != st || atoi(t, s.Name, s.Failures) != sf ||
					atoi(t, s.Name, s.Errors) != se || atoi(t, s.Name, s.Skipped) != ss {
					t.Errorf("suite %q declares tests %s failures %s errors %s skipped %s; its testcases are %d, %d, %d, %d",
						s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, st, sf, se, ss)
				}
				if got := secondsOf(t, s.Name, s.Time); got != sum {
					t.Errorf("suite %q time %s, its testcases sum to %.3f", s.Name, s.Time, sum)
				}
				if tc.r.StartedAt != "" && s.Timestamp == "" {
					t.Errorf("suite %q has no timestamp", s.Name)
				}
				tests, failures, errs, skipped, total = tests+st, failures+sf, errs+se, skipped+ss, total+sum
			}
			if atoi(t, "testsuites", doc.Tests) != tests || atoi(t, "testsuites", doc.Failures) != failures ||
				atoi(t, "testsuites", doc.Errors) != errs || atoi(t, "testsuites", doc.Skipped) != skipped {
				t.Errorf("testsuites declares %s/%s/%s/%s, the suites add up to %d/%d/%d/%d",
					doc.Tests, doc.Failures, doc.Errors, doc.Skipped, tests, failures, errs, skipped)
			}
			if got := secondsOf(t, "testsuites", doc.Time); got != total {
				t.Errorf("testsuites time %s, suites sum to %.3f", doc.Time, total)
			}
			if tc.r.State != schemas.StateCompleted && errs == 0 {
				t.Errorf("a run in state %s must show as an error", tc.r.State)
			}
			if tc.r.State == schemas.StateCompleted && errs != 0 {
				t.Errorf("a completed run shows %d errors", errs)
			}
		})
	}
}

func TestJUnitRunCaseSaysWhyTheRunDidNotComplete(t *testing.T) {
	r := sampleResult()
	r.State, r.AbortReason = schemas.StateAborted, "threshold http_req_failed rate<0.01 failed"
	r.Warnings = []string{"the generator fell behind"}
	suites, err := gojunit.Ingest(render(t, r))
	if err != nil {
		t.Fatal(err)
	}
	run := suites[0].Tests[0]
	if run.Status != gojunit.StatusError || !strings.Contains(run.Message, r.AbortReason) {
		t.Errorf("run testcase %s %q, want an error naming %q", run.Status, run.Message, r.AbortReason)
	}
	if !strings.Contains(run.SystemOut, "warning: the generator fell behind") || !strings.Contains(run.SystemOut, "1000 requests") {
		t.Errorf("run testcase output %q lacks the figures or the warning", run.SystemOut)
	}
	if suites[0].Properties["abort_reason"] != r.AbortReason || suites[0].Properties["run_id"] != "abc123" {
		t.Errorf("run suite properties %v", suites[0].Properties)
	}
}

// Names from the plan are text, whatever they hold: the document stays
// well-formed and the names come back as written (invalid XML characters
// replaced).
func TestJUnitEscapesNames(t *testing.T) {
	r := &schemas.Result{Name: `a"b<c>&'d`, State: schemas.StateCompleted, Endpoints: []schemas.EndpointResult{
		{Name: "]]> </testcase>", Checks: []schemas.CheckCount{{Name: "tab\there\x01", Fails: 1}}},
	}}
	data := render(t, r)
	var doc xmlDoc
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, data)
	}
	if len(doc.Suites) != 2 || doc.Suites[1].Name != "checks ]]> </testcase>" {
		t.Fatalf("suites %+v", doc.Suites)
	}
	c := doc.Suites[1].Cases[0]
	if c.Classname != `loadforge.a"b<c>&'d.checks ]]> </testcase>` || !strings.HasPrefix(c.Name, "tab\there") {
		t.Errorf("testcase %q / %q", c.Classname, c.Name)
	}
}

func TestJUnitWriteFileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "junit.xml")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, sampleResult()); err != nil {
		t.Fatal(err)
	}
	if _, err := gojunit.IngestFile(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "junit.xml"), sampleResult()); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("writing into a missing directory: %v", err)
	}
}

// Whatever the plan's names hold, the document is well-formed XML that a
// JUnit reader takes with every testcase in it.
func FuzzJUnitNames(f *testing.F) {
	f.Add("checkout", "http_req_duration{endpoint:a}", "p(95)<200", "home", "status is 200")
	f.Add("]]>", "<x>", "&amp;", "\x00\x01", "\xff\xfe")
	f.Add("", "", "", "", "")
	f.Add("r", "m", "e", "\x00", "\x01") // two names readers see alike
	f.Add("r", "m", "e", "c #2", "c")    // checks c, c, c #2
	f.Fuzz(func(t *testing.T, run, metric, expr, endpoint, check string) {
		r := &schemas.Result{Name: run, State: schemas.StateCompleted,
			Thresholds: []schemas.ThresholdResult{{Metric: metric, Expression: expr, Value: 1}, {Metric: metric, Expression: expr, OK: true}},
			Endpoints: []schemas.EndpointResult{{Name: endpoint, Checks: []schemas.CheckCount{
				{Name: check, Fails: 1}, {Name: check, Passes: 1}, {Name: endpoint, Passes: 1}}}},
		}
		data := render(t, r)
		var doc xmlDoc
		if err := xml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("not XML: %v\n%q", err, data)
		}
		suites, err := gojunit.Ingest(data)
		if err != nil {
			t.Fatal(err)
		}
		tests, failed := 0, 0
		for _, s := range suites {
			tests += s.Totals.Tests
			failed += s.Totals.Failed
		}
		seen := map[string]bool{}
		for _, s := range doc.Suites {
			for _, c := range s.Cases {
				key := c.Classname + "\x00" + c.Name
				if seen[key] || strings.TrimSpace(c.Name) == "" {
					t.Fatalf("testcase %q / %q is empty or not unique:\n%s", c.Classname, c.Name, data)
				}
				seen[key] = true
			}
		}
		if len(suites) != 3 || tests != 6 || failed != 2 {
			t.Fatalf("%d suites, %d tests, %d failed; want 3, 6, 2:\n%s", len(suites), tests, failed, data)
		}
	})
}

func TestJUnitDefaults(t *testing.T) {
	r := &schemas.Result{State: schemas.StateCompleted, StartedAt: "yesterday", DurationS: -1}
	var doc xmlDoc
	if err := xml.Unmarshal(render(t, r), &doc); err != nil {
		t.Fatal(err)
	}
	s := doc.Suites[0]
	if c := s.Cases[0]; c.Classname != "loadforge.loadforge.run" || c.Time != "0.000" {
		t.Errorf("unnamed run: classname %q, time %q", c.Classname, c.Time)
	}
	if s.Timestamp != "" {
		t.Errorf("an unreadable start gave timestamp %q", s.Timestamp)
	}
	if got := timestamp("2026-11-28T10:00:00.25+01:00"); got != "2026-11-28T09:00:00" {
		t.Errorf("timestamp in UTC: %q", got)
	}
	for v, want := range map[float64]string{0: "0", 200: "200", 0.0125: "0.013", 231.4: "231.4", 1e9: "1000000000"} {
		if got := number(v); got != want {
			t.Errorf("number(%v) = %q, want %q", v, got, want)
		}
	}
}
