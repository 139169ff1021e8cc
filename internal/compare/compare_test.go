package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/loadforge/loadforge/schemas"
)

func endpoint(name, method, url string, requests, errors uint64, rps, p95 float64) schemas.EndpointResult {
	return schemas.EndpointResult{Name: name, Method: method, URL: url, Requests: requests, Errors: errors, RPS: rps,
		LatencyMs: schemas.LatencyMs{P50: p95 / 2, P90: p95 * 0.9, P95: p95, P99: p95 * 1.5, Max: p95 * 2}}
}

func result(runID string, eps ...schemas.EndpointResult) *schemas.Result {
	r := &schemas.Result{SchemaVersion: schemas.ResultVersion, RunID: runID, Name: "shop", State: schemas.StateCompleted, DurationS: 10, Endpoints: eps}
	for _, e := range eps {
		r.Totals.Requests += e.Requests
		r.Totals.Errors += e.Errors
		r.Totals.RPS += e.RPS
		r.Totals.LatencyMs.P95 = max(r.Totals.LatencyMs.P95, e.LatencyMs.P95)
	}
	return r
}

func rules(t *testing.T, texts ...string) []Rule {
	t.Helper()
	rs, err := ParseRules(texts)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestCompareMatchesEndpoints(t *testing.T) {
	base := result("b",
		endpoint("home", "GET", "http://a/", 100, 0, 10, 10),
		endpoint("item", "GET", "http://a/item?id=1", 100, 0, 10, 10),
		endpoint("item", "GET", "http://a/item?id=2", 100, 0, 10, 20),
		endpoint("login", "POST", "http://a/login", 100, 0, 10, 10),
		endpoint("gone", "GET", "http://a/gone", 100, 0, 10, 10),
	)
	cur := result("n",
		endpoint("item", "GET", "http://a/item?id=2", 100, 0, 10, 22), // same name and method: the URL decides
		endpoint("item", "GET", "http://a/item?id=1", 100, 0, 10, 11),
		endpoint("home", "GET", "http://b/", 100, 0, 10, 12), // another host: matched by name and method
		endpoint("login", "GET", "http://a/login", 100, 0, 10, 10),
		endpoint("fresh", "GET", "http://a/fresh", 100, 0, 10, 10),
	)
	rep := Compare(base, cur, nil)
	type got struct {
		name, method, url, verdict string
		base                       any
	}
	var rows []got
	for _, r := range rep.Endpoints {
		var b any
		if r.P95.Base != nil {
			b = *r.P95.Base
		}
		rows = append(rows, got{r.Name, r.Method, r.URL, r.Verdict, b})
	}
	want := []got{
		{"item", "GET", "http://a/item?id=2", VerdictOK, 20.0},
		{"item", "GET", "http://a/item?id=1", VerdictOK, 10.0},
		{"home", "GET", "http://b/", VerdictOK, 10.0},
		{"login", "GET", "http://a/login", VerdictAdded, nil}, // another method is another endpoint
		{"fresh", "GET", "http://a/fresh", VerdictAdded, nil},
		{"login", "POST", "http://a/login", VerdictRemoved, 10.0},
		{"gone", "GET", "http://a/gone", VerdictRemoved, 10.0},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows\n got %v\nwant %v", rows, want)
	}
	if rep.Regressions != 0 || rep.Totals.Verdict != VerdictOK {
		t.Errorf("no rules, yet %d regressions, totals %s", rep.Regressions, rep.Totals.Verdict)
	}
}

func TestCompareDeltas(t *testing.T) {
	base := result("b", endpoint("a", "GET", "u", 1000, 10, 100, 40), endpoint("z", "GET", "z", 0, 0, 0, 0))
	cur := result("n", endpoint("a", "GET", "u", 800, 40, 80, 50), endpoint("z", "GET", "z", 10, 0, 1, 4))
	rep := Compare(base, cur, nil)
	a := rep.Endpoints[0]
	check := func(what string, d Delta, b, n, diff float64, pct any) {
		t.Helper()
		if d.Base == nil || d.New == nil || d.Diff == nil {
			t.Fatalf("%s: %+v has nulls", what, d)
		}
		near := func(x, y float64) bool { return x-y < 1e-9 && y-x < 1e-9 }
		if !near(*d.Base, b) || !near(*d.New, n) || !near(*d.Diff, diff) {
			t.Errorf("%s: base %v new %v diff %v, want %v %v %v", what, *d.Base, *d.New, *d.Diff, b, n, diff)
		}
		switch p := pct.(type) {
		case nil:
			if d.Pct != nil {
				t.Errorf("%s: pct %v, want null (base 0)", what, *d.Pct)
			}
		case float64:
			if d.Pct == nil || !near(*d.Pct, p) {
				t.Errorf("%s: pct %v, want %v", what, d.Pct, p)
			}
		}
	}
	check("requests", a.Requests, 1000, 800, -200, -20.0)
	check("rps", a.RPS, 100, 80, -20, -20.0)
	check("error rate", a.ErrorRate, 0.01, 0.05, 0.04, 400.0)
	check("p50", a.P50, 20, 25, 5, 25.0)
	check("p95", a.P95, 40, 50, 10, 25.0)
	check("max", a.Max, 80, 100, 20, 25.0)
	z := rep.Endpoints[1]
	check("rps from 0", z.RPS, 0, 1, 1, nil)
	check("error rate of no requests", z.ErrorRate, 0, 0, 0, nil)
	if z.Verdict != VerdictNoData {
		t.Errorf("an endpoint without requests in the base: verdict %s, want %s", z.Verdict, VerdictNoData)
	}
	check("totals rps", rep.Totals.RPS, 100, 81, -19, -19.0)
}

func TestCompareVerdicts(t *testing.T) {
	base := result("b",
		endpoint("fast", "GET", "f", 1000, 0, 100, 10),
		endpoint("slow", "GET", "s", 1000, 0, 100, 10),
		endpoint("failing", "GET", "e", 1000, 0, 100, 10),
		endpoint("stopped", "GET", "x", 1000, 0, 100, 10),
	)
	cur := result("n",
		endpoint("fast", "GET", "f", 1000, 0, 100, 10.5),
		endpoint("slow", "GET", "s", 1000, 0, 100, 30),
		endpoint("failing", "GET", "e", 1000, 50, 100, 10),
		endpoint("stopped", "GET", "x", 0, 0, 0, 0),
	)
	rep := Compare(base, cur, rules(t, "p95>+10%", "error_rate>+0.01", "rps<-50%"))
	want := map[string][]string{
		"fast":    nil,
		"slow":    {"p95>+10%"},
		"failing": {"error_rate>+0.01"},
		"stopped": {"rps<-50%"}, // its latency is no figure, its rate is
	}
	for _, r := range rep.Endpoints {
		var broken []string
		for _, b := range r.Failed {
			broken = append(broken, b.Rule)
		}
		if !reflect.DeepEqual(broken, want[r.Name]) {
			t.Errorf("%s: broke %v, want %v", r.Name, broken, want[r.Name])
		}
		if wantVerdict := map[bool]string{true: VerdictFail, false: VerdictOK}[len(want[r.Name]) > 0]; r.Verdict != wantVerdict {
			t.Errorf("%s: verdict %s, want %s", r.Name, r.Verdict, wantVerdict)
		}
	}
	slow := rep.Endpoints[1].Failed[0]
	if slow.Metric != P95 || slow.Diff != 20 || slow.Pct == nil || *slow.Pct != 200 {
		t.Errorf("slow breach %+v, want p95 +20 (+200%%)", slow)
	}
	// Totals: p95 the highest endpoint's (10 → 30), errors 0 → 50 of 3000, rps 400 → 300.
	var totals []string
	for _, b := range rep.Totals.Failed {
		totals = append(totals, b.Rule)
	}
	if !reflect.DeepEqual(totals, []string{"p95>+10%", "error_rate>+0.01"}) {
		t.Errorf("totals broke %v", totals)
	}
	if rep.Regressions != 4 {
		t.Errorf("%d regressions, want 4 (slow, failing, stopped, total)", rep.Regressions)
	}
	if got := strings.Join(rep.Failing(), "; "); got != "GET slow (p95>+10%); GET failing (error_rate>+0.01); GET stopped (rps<-50%); total (p95>+10%, error_rate>+0.01)" {
		t.Errorf("failing %q", got)
	}
}

func writeJSON(t *testing.T, dir, name string, v any) string {
	t.Helper()
	var data []byte
	switch x := v.(type) {
	case string:
		data = []byte(x)
	default:
		var err error
		if data, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := result("b", endpoint("a", "GET", "u", 10, 0, 1, 1))
	v2 := *good
	v2.SchemaVersion = 2
	cases := []struct {
		name, content, want string
	}{
		{"missing", "", "missing: no such file or directory"},
		{"empty.json", "", "empty.json: not a loadforge result (--out) document"},
		{"garbage.json", "{\n\"a\": 1,\n oops}", "garbage.json: not a loadforge result (--out) document: line 3"},
		{"array.json", "[1, 2]", "not a loadforge result (--out) document: want a JSON object, got array"},
		{"other.json", `{"name": "package.json"}`, `no "schema_version"`},
		{"no-endpoints.json", `{"schema_version": 1, "totals": {}}`, `no "endpoints"`},
		{"wrong-type.json", `{"schema_version": 1, "totals": {"requests": "many"}, "endpoints": []}`, "totals.requests: want uint64, got string"},
		{"v2.json", "", "v2.json: schema_version 2: this loadforge reads result documents of version 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			switch {
			case tc.name == "v2.json":
				path = writeJSON(t, dir, tc.name, &v2)
			case tc.name != "missing":
				path = writeJSON(t, dir, tc.name, tc.content)
			}
			_, err := Load(path)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
	r, err := Load(writeJSON(t, dir, "good.json", good))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, good) {
		t.Errorf("loaded %+v, wrote %+v", r, good)
	}
}

func sampleReport(t *testing.T) *Report {
	base := result("b1",
		endpoint("home", "GET", "http://a/", 1000, 0, 100, 10),
		endpoint("search | filter", "GET", "http://a/s?q=<x>", 1000, 10, 100, 10),
		endpoint("old", "GET", "http://a/old", 10, 0, 1, 1),
	)
	cur := result("n1",
		endpoint("home", "GET", "http://a/", 1000, 0, 100, 10.2),
		endpoint("search | filter", "GET", "http://a/s?q=<x>", 1000, 10, 100, 25),
		endpoint("new_*thing*", "POST", "http://a/new", 10, 0, 1, 1),
	)
	rep := Compare(base, cur, rules(t, "p95>+10%"))
	rep.Base.File, rep.New.File = "base.json", "new|`odd`.json"
	return rep
}

// unescapedPipes counts the cell separators of a Markdown table line.
var unescapedPipe = regexp.MustCompile(`(^|[^\\])\|`)

func TestMarkdownIsOneTable(t *testing.T) {
	rep := sampleReport(t)
	var buf bytes.Buffer
	if err := rep.Write(&buf, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	if !strings.HasPrefix(md, "### loadforge compare: ❌ 2 regressions\n") {
		t.Errorf("title: %q", strings.SplitN(md, "\n", 2)[0])
	}
	var table []string
	for _, l := range strings.Split(md, "\n") {
		if strings.HasPrefix(l, "|") {
			table = append(table, l)
		}
	}
	// header, alignment, 4 endpoints (one added, one removed), totals
	if len(table) != 7 {
		t.Fatalf("%d table lines, want 7:\n%s", len(table), md)
	}
	cols := len(header) + 1
	for _, l := range table {
		if n := len(unescapedPipe.FindAllString(l, -1)); n != cols {
			t.Errorf("%d cell separators, want %d: %s", n, cols, l)
		}
	}
	if !regexp.MustCompile(`^\|(\s*:?-+:?\s*\|)+$`).MatchString(table[1]) {
		t.Errorf("second line is not an alignment row: %s", table[1])
	}
	for i, want := range []string{"GET home", `GET search \| filter`, `POST new\_\*thing\*`, "GET old", "**total**"} {
		if !strings.HasPrefix(table[2+i], "| "+want+" |") {
			t.Errorf("row %d: %s, want it to start with %q", i, table[2+i], want)
		}
	}
	if !strings.Contains(table[3], "**✗ p95&gt;+10% (+150.0%)**") || !strings.HasSuffix(table[2], "| ok |") {
		t.Errorf("verdicts: %s / %s", table[2], table[3])
	}
	if strings.Contains(md, "<x>") {
		t.Errorf("raw HTML from a URL or name reached the comment")
	}
	if !strings.Contains(md, "``new\\|`odd`.json``") {
		t.Errorf("the new file's name is not one code span:\n%s", md)
	}
}

func TestTextTable(t *testing.T) {
	rep := sampleReport(t)
	var buf bytes.Buffer
	if err := rep.Write(&buf, FormatText); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	var rows []string
	for _, l := range lines {
		for _, p := range []string{"endpoint ", "GET ", "POST ", "total "} {
			if strings.HasPrefix(l, p) {
				rows = append(rows, l)
			}
		}
	}
	if len(rows) != 6 {
		t.Fatalf("%d table rows, want 6:\n%s", len(rows), buf.String())
	}
	// The columns line up (counted in characters): each verdict starts under "verdict".
	col := func(row, cell string) int { return utf8.RuneCountInString(row[:strings.LastIndex(row, cell)]) }
	verdictCol := col(rows[0], "verdict")
	for i, v := range []string{"ok", "✗ p95", "added", "removed", "✗ p95"} {
		if c := col(rows[1+i], v); c != verdictCol {
			t.Errorf("verdict %q at column %d, the header's at %d:\n%s\n%s", v, c, verdictCol, rows[0], rows[1+i])
		}
	}
	if !strings.Contains(rows[2], "10.0ms → 25.0ms (+150.0%)") || !strings.HasSuffix(rows[2], "✗ p95>+10% (+150.0%)") {
		t.Errorf("slow row: %s", rows[2])
	}
	if !strings.Contains(rows[3], "– → 1.00ms") || !strings.HasSuffix(rows[3], "added") {
		t.Errorf("added row: %s", rows[3])
	}
	if !strings.Contains(rows[4], "1.00ms → –") || !strings.HasSuffix(rows[4], "removed") {
		t.Errorf("removed row: %s", rows[4])
	}
	if last := lines[len(lines)-1]; last != "2 regressions beyond the rules: GET search | filter (p95>+10%); total (p95>+10%)" {
		t.Errorf("last line %q", last)
	}
}

func TestJSONDocument(t *testing.T) {
	rep := sampleReport(t)
	var buf bytes.Buffer
	if err := rep.Write(&buf, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		return k
	}
	sameKeys := func(what string, m map[string]any, want ...string) {
		t.Helper()
		got := map[string]bool{}
		for _, k := range keys(m) {
			got[k] = true
		}
		for _, k := range want {
			if !got[k] {
				t.Errorf("%s lacks %q", what, k)
			}
			delete(got, k)
		}
		if len(got) > 0 {
			t.Errorf("%s has undocumented keys %v", what, got)
		}
	}
	sameKeys("document", doc, "schema_version", "base", "new", "rules", "regressions", "endpoints", "totals")
	sameKeys("base", doc["base"].(map[string]any), "file", "run_id", "name", "state", "started_at", "duration_s")
	if doc["schema_version"] != 1.0 || doc["regressions"] != 2.0 {
		t.Errorf("schema_version %v, regressions %v", doc["schema_version"], doc["regressions"])
	}
	if rs := doc["rules"].([]any); len(rs) != 1 || rs[0] != "p95>+10%" {
		t.Errorf("rules %v", rs)
	}
	rows := doc["endpoints"].([]any)
	metrics := []string{"requests", "rps", "error_rate", "p50", "p90", "p95", "p99", "max"}
	for _, r := range append(rows, doc["totals"]) {
		row := r.(map[string]any)
		sameKeys("row", row, append([]string{"name", "method", "url", "verdict", "failed"}, metrics...)...)
		for _, m := range metrics {
			sameKeys(m, row[m].(map[string]any), "base", "new", "diff", "pct")
		}
	}
	added := rows[2].(map[string]any)
	if added["verdict"] != "added" || added["p95"].(map[string]any)["base"] != nil || added["p95"].(map[string]any)["new"] != 1.0 {
		t.Errorf("added row %v", added)
	}
	failed := rows[1].(map[string]any)["failed"].([]any)
	if len(failed) != 1 {
		t.Fatalf("failed %v", failed)
	}
	sameKeys("breach", failed[0].(map[string]any), "rule", "metric", "diff", "pct")
	if f := failed[0].(map[string]any); f["rule"] != "p95>+10%" || f["metric"] != "p95" || f["diff"] != 15.0 || f["pct"] != 150.0 {
		t.Errorf("breach %v", f)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || !reflect.DeepEqual(&back, rep) {
		t.Errorf("the JSON does not read back into the report: %v", err)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]string{"text": FormatText, "markdown": FormatMarkdown, "MD": FormatMarkdown, " json ": FormatJSON} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "html", "yaml"} {
		if _, err := ParseFormat(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// Whatever a file holds, Parse returns a result or a one-line error, and a
// result it returns compares with itself without a regression.
func FuzzParse(f *testing.F) {
	good, _ := json.Marshal(result("b", endpoint("a", "GET", "u", 10, 1, 1, 1)))
	for _, s := range []string{string(good), "", "{}", "[]", "null", `{"schema_version":1,"totals":{},"endpoints":null}`,
		`{"schema_version":1,"totals":{"requests":-1},"endpoints":[]}`, `{"schema_version":1,"totals":{},"endpoints":[{"name":"x","latency_ms":{"p95":1e308}}]}`} {
		f.Add([]byte(s))
	}
	rs, _ := ParseRules([]string{"p95>+10%", "rps<-5%", "error_rate>+0.01", "max>+1ms"})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("f.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.json: ") || strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error %q", err)
			}
			return
		}
		rep := Compare(r, r, rs)
		if rep.Regressions != 0 {
			t.Fatalf("a result regresses against itself: %v", rep.Failing())
		}
		for _, format := range []string{FormatText, FormatMarkdown, FormatJSON} {
			if err := rep.Write(io.Discard, format); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
		}
	})
}

func TestNotesOnRunsThatDidNotComplete(t *testing.T) {
	base := result("b", endpoint("a", "GET", "u", 10, 0, 1, 1))
	cur := result("n", endpoint("a", "GET", "u", 10, 0, 1, 1))
	cur.State = schemas.StateInterrupted
	rep := Compare(base, cur, nil)
	for _, format := range []string{FormatText, FormatMarkdown} {
		var buf bytes.Buffer
		if err := rep.Write(&buf, format); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "note: the new run was interrupted"); n != 1 || strings.Contains(buf.String(), "base run was") {
			t.Errorf("%s: want one note on the new run:\n%s", format, buf.String())
		}
	}
	if notes := Compare(base, base, nil).notes(); len(notes) != 0 {
		t.Errorf("completed runs get notes %v", notes)
	}
}

func TestCompareEdgeCases(t *testing.T) {
	t.Run("no endpoints", func(t *testing.T) {
		empty := result("e")
		rep := Compare(empty, empty, rules(t, "p95>+10%", "rps<-10%"))
		if len(rep.Endpoints) != 0 || rep.Totals.Verdict != VerdictNoData || rep.Regressions != 0 {
			t.Errorf("endpoints %v, totals %s, regressions %d", rep.Endpoints, rep.Totals.Verdict, rep.Regressions)
		}
		var buf bytes.Buffer
		if err := rep.Write(&buf, FormatMarkdown); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(buf.String(), "\n|"); n != 3 { // header, alignment, total
			t.Errorf("%d table lines:\n%s", n, buf.String())
		}
	})
	t.Run("the same endpoint twice", func(t *testing.T) {
		base := result("b", endpoint("a", "GET", "u", 10, 0, 1, 10), endpoint("a", "GET", "u", 10, 0, 1, 20))
		cur := result("n", endpoint("a", "GET", "u", 10, 0, 1, 11), endpoint("a", "GET", "u", 10, 0, 1, 40))
		rep := Compare(base, cur, rules(t, "p95>+50%"))
		if v := []string{rep.Endpoints[0].Verdict, rep.Endpoints[1].Verdict}; v[0] != VerdictOK || v[1] != VerdictFail {
			t.Errorf("verdicts %v: rows should pair in order", v)
		}
		if l := rep.labels(); l[0] != "GET a (u)" || l[1] != "GET a (u) #2" {
			t.Errorf("labels %v: rows that read alike get their URL", l)
		}
	})
	t.Run("a result against itself", func(t *testing.T) {
		r := result("b", endpoint("a", "GET", "u", 10, 3, 1, 10))
		rep := Compare(r, r, rules(t, "p95>+0%", "error_rate>+0", "rps<-0", "max>+0ms"))
		if rep.Regressions != 0 {
			t.Errorf("regressions %v", rep.Failing())
		}
	})
	t.Run("only the totals regress", func(t *testing.T) {
		base := result("b", endpoint("a", "GET", "u", 10, 0, 5, 10))
		cur := result("n", endpoint("a", "GET", "u", 10, 0, 5, 10))
		cur.Totals.LatencyMs.P99 = 500
		rep := Compare(base, cur, rules(t, "p99>+100ms"))
		if rep.Regressions != 1 || rep.Totals.Verdict != VerdictFail || rep.Endpoints[0].Verdict != VerdictOK {
			t.Errorf("regressions %d, totals %s, endpoint %s", rep.Regressions, rep.Totals.Verdict, rep.Endpoints[0].Verdict)
		}
	})
	t.Run("empty lists stay lists in JSON", func(t *testing.T) {
		r := result("b", endpoint("a", "GET", "u", 10, 0, 1, 1))
		var buf bytes.Buffer
		if err := Compare(r, r, nil).Write(&buf, FormatJSON); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"rules": []`, `"failed": []`} {
			if !strings.Contains(buf.String(), want) {
				t.Errorf("JSON lacks %s:\n%s", want, buf.String())
			}
		}
		if strings.Contains(buf.String(), "null,\n      \"failed\"") || strings.Contains(buf.String(), `"rules": null`) {
			t.Errorf("null lists:\n%s", buf.String())
		}
	})
}

// A report on many endpoints keeps the news in its table and folds the rest.
func TestMarkdownFoldsQuietRowsOfLongReports(t *testing.T) {
	var baseEps, curEps []schemas.EndpointResult
	for i := range mdFoldAfter + 10 {
		name := fmt.Sprintf("e%02d", i)
		p95 := 10.0
		if i == 3 || i == 25 {
			p95 = 50 // two slower endpoints
		}
		baseEps = append(baseEps, endpoint(name, "GET", "u"+name, 100, 0, 10, 10))
		curEps = append(curEps, endpoint(name, "GET", "u"+name, 100, 0, 10, p95))
	}
	curEps = append(curEps, endpoint("fresh", "GET", "f", 1, 0, 1, 1))
	rep := Compare(result("b", baseEps...), result("n", curEps...), rules(t, "p95>+10%"))
	var buf bytes.Buffer
	if err := rep.Write(&buf, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	main, details, ok := strings.Cut(md, "<details>")
	if !ok || !strings.HasSuffix(strings.TrimSpace(details), "</details>") {
		t.Fatalf("no folded section:\n%s", md)
	}
	rowsOf := func(s string) []string {
		var rows []string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "| GET ") || strings.HasPrefix(l, "| **total**") {
				rows = append(rows, strings.SplitN(l, " | ", 2)[0])
			}
		}
		return rows
	}
	if got := rowsOf(main); !reflect.DeepEqual(got, []string{"| GET e03", "| GET e25", "| GET fresh", "| **total**"}) {
		t.Errorf("main table rows %v", got)
	}
	if got := rowsOf(details); len(got) != mdFoldAfter+8 {
		t.Errorf("%d folded rows, want %d", len(got), mdFoldAfter+8)
	}
	if !strings.Contains(details, fmt.Sprintf("<summary>%d more endpoints without a broken rule</summary>\n\n| endpoint |", mdFoldAfter+8)) {
		t.Errorf("folded section's summary or table head:\n%s", details)
	}
	// A short report folds nothing.
	short := Compare(result("b", baseEps[:mdFoldAfter]...), result("n", curEps[:mdFoldAfter]...), nil)
	buf.Reset()
	short.Write(&buf, FormatMarkdown)
	if strings.Contains(buf.String(), "<details>") {
		t.Errorf("%d rows folded", mdFoldAfter)
	}
}

func TestEndpointRulesHoldForTheirEndpointAlone(t *testing.T) {
	base := result("b", endpoint("search", "GET", "s", 100, 0, 10, 10), endpoint("home", "GET", "h", 100, 0, 10, 10))
	cur := result("n", endpoint("search", "GET", "s", 100, 0, 10, 11), endpoint("home", "GET", "h", 100, 0, 10, 11))
	rep := Compare(base, cur, rules(t, "p95{endpoint:search}>+5%", "p95>+20%"))
	if v := []string{rep.Endpoints[0].Verdict, rep.Endpoints[1].Verdict, rep.Totals.Verdict}; !reflect.DeepEqual(v, []string{VerdictFail, VerdictOK, VerdictOK}) {
		t.Errorf("verdicts search, home, total: %v (+10%% each; search may rise 5%%, the others 20%%)", v)
	}
	if got := rep.Failing(); !reflect.DeepEqual(got, []string{"GET search (p95{endpoint:search}>+5%)"}) {
		t.Errorf("failing %v", got)
	}
}

func TestLoadADirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), dir+": is a directory") {
		t.Errorf("loading a directory: %v", err)
	}
}
