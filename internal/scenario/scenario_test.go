package scenario

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

func testNames() *Names {
	return &Names{
		Vars:      map[string]bool{"api": true},
		Extracted: map[string]bool{"token": true},
		Sets:      map[string][]string{"users": {"name", "password"}},
	}
}

func TestCompileRefusesUnknownNamesAndFunctions(t *testing.T) {
	for src, want := range map[string]string{
		"{{ .tokn }}":            "unknown name {{ .tokn }}",
		"{{ .users.email }}":     `data set "users" has no column "email"`,
		"{{ .users }}":           "is a data set",
		"{{ .token.x }}":         "is a single value",
		"{{ randIn 1 2 }}":       `function "randIn" not defined`,
		"{{ .api ":               "unclosed action",
		`{{ template "x" }}`:     "not supported",
		"{{ if .nope }}x{{end}}": "unknown name {{ .nope }}",
	} {
		_, err := Compile(src, testNames())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile(%q) = %v, want an error with %q", src, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("Compile(%q): the error spans lines: %q", src, err)
		}
	}
}

func TestTemplateRendersNamesAndFunctions(t *testing.T) {
	src := `{{ .api }}/{{ .users.name }}/{{ .token }}/{{ .vu }}/{{ .iteration }}/{{ .worker }}/{{ randInt 5 5 }}/{{ randString 4 | len }}/{{ env "LOADFORGE_TEST_ENV" }}`
	tm, err := Compile(src, testNames())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("LOADFORGE_TEST_ENV", "from-env")
	data := Data{"api": "/v1", "token": "t0k", "users": map[string]string{"name": "alice", "password": "p"},
		NameVU: 3, NameIteration: 7, NameWorker: 1}
	got, err := tm.String(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := "/v1/alice/t0k/3/7/1/5/4/from-env"; got != want {
		t.Errorf("rendered %q, want %q", got, want)
	}
	if f := strings.Join(tm.Fields(), ","); f != "api,users.name,token,vu,iteration,worker" {
		t.Errorf("fields %q", f)
	}
	u, _ := Compile("{{ uuid }}", testNames())
	a, _ := u.String(data)
	b, _ := u.String(data)
	if len(a) != 36 || a == b || a[14] != '4' {
		t.Errorf("uuid gave %q then %q", a, b)
	}
	n, _ := Compile("{{ now }}", testNames())
	before := time.Now().UnixMilli()
	text, _ := n.String(data)
	ms, err := strconv.ParseInt(text, 10, 64)
	if err != nil || ms < before || ms > time.Now().UnixMilli() {
		t.Errorf("now gave %q, want Unix ms from %d on", text, before)
	}
}

func TestJSONBodyEscapesTemplatedStrings(t *testing.T) {
	jb, err := CompileJSON(`{"user":"{{ .users.name }}","n":3,"list":["{{ .token }}","plain"],"deep":{"k":"{{ .api }}"}}`, testNames())
	if err != nil {
		t.Fatal(err)
	}
	if jb.Static() || len(jb.Templates()) != 3 {
		t.Fatalf("want 3 templates, got %d", len(jb.Templates()))
	}
	data := Data{"api": "a\\b", "token": "line\nbreak", "users": map[string]string{"name": `quote"d`}}
	var buf, scratch bytes.Buffer
	if err := jb.Execute(&buf, data, &scratch); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %s: %v", buf.String(), err)
	}
	if got["user"] != `quote"d` || got["list"].([]any)[0] != "line\nbreak" || got["list"].([]any)[1] != "plain" ||
		got["deep"].(map[string]any)["k"] != `a\b` || got["n"] != 3.0 {
		t.Errorf("rendered %s", buf.String())
	}
	if _, err := CompileJSON(`{"a":"{{ .nope }}"}`, testNames()); err == nil {
		t.Error("an unknown name in a JSON string compiled")
	}
}

func TestCheckPath(t *testing.T) {
	for _, ok := range []string{"session.token", "items.#", "items.0.id", `a\.b`, "friends.#(last==\"Murphy\").first", "@reverse", "a|@pretty", "items.#.id"} {
		if err := CheckPath(ok); err != nil {
			t.Errorf("CheckPath(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a..b", "a.", "a[", "a#(x==1", `a\`, `a."b`, "@nosuchmodifier", ".a"} {
		if err := CheckPath(bad); err == nil {
			t.Errorf("CheckPath(%q) accepted", bad)
		}
	}
}

func resp(body string, h http.Header) *Response {
	return &Response{Status: 200, Header: h, Body: []byte(body), Latency: 5 * time.Millisecond}
}

func TestChecks(t *testing.T) {
	data := Data{"users": map[string]string{"name": "alice", "password": ""}, "api": "", "token": ""}
	r := resp(`{"user":"alice","items":[1,2],"n":5,"s":"abc"}`, http.Header{"Content-Type": {"application/json"}})
	cases := []struct {
		c    schemas.Check
		pass bool
		name string
	}{
		{schemas.Check{Kind: "status", Status: []int{200}}, true, "status is 200"},
		{schemas.Check{Kind: "status", Status: []int{201, 204}}, false, "status is 201 or 204"},
		{schemas.Check{Kind: "json", Path: "user", Op: "equals", Value: "{{ .users.name }}"}, true, "json user equals {{ .users.name }}"},
		{schemas.Check{Kind: "json", Path: "user", Op: "not_equals", Value: "bob"}, true, "json user not equals bob"},
		{schemas.Check{Kind: "json", Path: "s", Op: "contains", Value: "b"}, true, "json s contains b"},
		{schemas.Check{Kind: "json", Path: "s", Op: "matches", Value: "^a.c$"}, true, "json s matches ^a.c$"},
		{schemas.Check{Kind: "json", Path: "missing", Op: "exists", Value: "true"}, false, "json missing exists"},
		{schemas.Check{Kind: "json", Path: "missing", Op: "exists", Value: "false"}, true, "json missing does not exist"},
		{schemas.Check{Kind: "json", Path: "items.#", Op: "gte", Value: "2"}, true, "json items.# gte 2"},
		{schemas.Check{Kind: "json", Path: "n", Op: "gt", Value: "5"}, false, "json n gt 5"},
		{schemas.Check{Kind: "json", Path: "n", Op: "lt", Value: "6"}, true, "json n lt 6"},
		{schemas.Check{Kind: "json", Path: "s", Op: "lte", Value: "6"}, false, "json s lte 6"},
		{schemas.Check{Kind: "body_contains", Value: "alice"}, true, "body contains alice"},
		{schemas.Check{Kind: "header", Path: "content-type", Value: "json"}, true, "header content-type contains json"},
		{schemas.Check{Kind: "header", Path: "X-Nope", Value: ""}, false, "header X-Nope present"},
		{schemas.Check{Kind: "latency_under", LatencyUnderNs: int64(time.Millisecond)}, false, "latency under 1ms"},
		{schemas.Check{Name: "mine", Kind: "latency_under", LatencyUnderNs: int64(time.Second)}, true, "mine"},
	}
	var scratch bytes.Buffer
	for _, tc := range cases {
		k, err := CompileCheck(tc.c, testNames())
		if err != nil {
			t.Fatalf("%+v: %v", tc.c, err)
		}
		if got := k.Eval(r, data, &scratch); got != tc.pass {
			t.Errorf("%s: passed %v, want %v", k.Name, got, tc.pass)
		}
		if k.Name != tc.name {
			t.Errorf("name %q, want %q", k.Name, tc.name)
		}
		if k.Eval(&Response{}, data, &scratch) {
			t.Errorf("%s passed without a response", k.Name)
		}
	}
	for _, bad := range []schemas.Check{
		{Kind: "json", Path: "a..b", Op: "equals"},
		{Kind: "json", Path: "a", Op: "matches", Value: "("},
		{Kind: "json", Path: "a", Op: "gt", Value: "many"},
		{Kind: "json", Path: "a", Op: "equals", Value: "{{ .nope }}"},
		{Kind: "status"},
		{Kind: "status", Status: []int{42}},
		{Kind: "latency_under"},
		{Kind: "sometimes"},
	} {
		if _, err := CompileCheck(bad, testNames()); err == nil {
			t.Errorf("CompileCheck(%+v) accepted", bad)
		}
	}
}

func TestExtract(t *testing.T) {
	h := http.Header{"X-Request-Id": {"r-1"}, "Set-Cookie": {"other=1; Path=/", "sid=s3cr3t; HttpOnly"}}
	r := resp(`{"session":{"token":"abc","n":2}} count=17`, h)
	for _, tc := range []struct {
		from, expr, want string
		ok               bool
	}{
		{"json", "session.token", "abc", true},
		{"json", "session.n", "2", true},
		{"json", "session.nope", "", false},
		{"header", "x-request-id", "r-1", true},
		{"header", "X-Nope", "", false},
		{"regex", `count=(\d+)`, "17", true},
		{"regex", `count=\d+`, "count=17", true},
		{"regex", `total=(\d+)`, "", false},
		{"cookie", "sid", "s3cr3t", true},
		{"cookie", "nope", "", false},
	} {
		x, err := CompileExtract(schemas.Extract{Name: "v", From: tc.from, Expr: tc.expr})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := x.Extract(r)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s %q: got %q %v, want %q %v", tc.from, tc.expr, got, ok, tc.want, tc.ok)
		}
	}
	for _, bad := range []schemas.Extract{{Name: "v", From: "regex", Expr: "("}, {Name: "v", From: "json", Expr: "a..b"}, {Name: "1v", From: "header", Expr: "X"}, {Name: "v", From: "xml", Expr: "a"}} {
		if _, err := CompileExtract(bad); err == nil {
			t.Errorf("CompileExtract(%+v) accepted", bad)
		}
	}
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadDataFile(t *testing.T) {
	cols, rows, _, err := ReadDataFile(write(t, "u.csv", "name,password\nalice,a\nbob,\"b,2\"\n"), MaxDataBytes)
	if err != nil || strings.Join(cols, ",") != "name,password" || len(rows) != 2 || rows[1][1] != "b,2" {
		t.Fatalf("csv: %v %v %v", cols, rows, err)
	}
	cols, rows, _, err = ReadDataFile(write(t, "u.json", `[{"name":"a","n":1},{"name":"b","ok":true}]`), MaxDataBytes)
	if err != nil || strings.Join(cols, ",") != "n,name,ok" || rows[0][0] != "1" || rows[1][2] != "true" || rows[1][0] != "" {
		t.Fatalf("json: %v %v %v", cols, rows, err)
	}
	for name, content := range map[string]string{
		"noheader.csv": "alice@example.com,secret\nbob@example.com,pw\n",
		"empty.csv":    "",
		"onlyhead.csv": "name,password\n",
		"dup.csv":      "a,a\n1,2\n",
		"ragged.csv":   "a,b\n1\n",
		"obj.json":     `{"a":1}`,
		"keys.json":    `[{"a-b":1}]`,
	} {
		if _, _, _, err := ReadDataFile(write(t, name, content), MaxDataBytes); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", name, err)
		}
	}
	if _, _, _, err := ReadDataFile(write(t, "big.csv", "a\n"+strings.Repeat("x\n", 100)), 50); err == nil || !strings.Contains(err.Error(), "exceed") {
		t.Errorf("a file over the budget: %v", err)
	}
}

func table(t *testing.T, pick, whenDone string, rows int) *Table {
	t.Helper()
	ds := schemas.DataSet{Name: "users", Pick: pick, WhenDone: whenDone, Columns: []string{"i"}}
	for i := range rows {
		ds.Rows = append(ds.Rows, []string{string(rune('a' + i))})
	}
	tb, err := NewTable(ds)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// Workers i of n take rows i, i+n, …: together they hand out each row once
// before any row is handed out twice, and stop gives out nothing after.
func TestTablePickSplitsRowsAcrossWorkers(t *testing.T) {
	const n, rows = 3, 10
	seen := map[string]int{}
	for w := range n {
		tb := table(t, schemas.PickPerVU, schemas.WhenDoneStop, rows)
		for {
			row, ok := tb.Pick(w, n, nil)
			if !ok {
				break
			}
			seen[row["i"]]++
		}
	}
	if len(seen) != rows {
		t.Fatalf("%d distinct rows handed out, want %d: %v", len(seen), rows, seen)
	}
	for r, c := range seen {
		if c != 1 {
			t.Errorf("row %s handed out %d times", r, c)
		}
	}
	tb := table(t, schemas.PickPerIteration, schemas.WhenDoneCycle, 4)
	counts := map[string]int{}
	for range 10 {
		row, ok := tb.Pick(0, 1, nil)
		if !ok {
			t.Fatal("cycle ran out")
		}
		counts[row["i"]]++
	}
	for r, c := range counts {
		if c < 2 || c > 3 {
			t.Errorf("cycle: row %s picked %d times in 10 over 4 rows", r, c)
		}
	}
	rnd := table(t, schemas.PickRandom, schemas.WhenDoneCycle, 4)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		if _, ok := rnd.Pick(0, 1, rng); !ok {
			t.Fatal("random ran out")
		}
	}
	if _, err := NewTable(schemas.DataSet{Name: "x", Pick: "sometimes", WhenDone: "cycle", Rows: [][]string{{"a"}}}); err == nil {
		t.Error("pick sometimes accepted")
	}
}

func jsonValid(b []byte) bool { return json.Valid(b) }
