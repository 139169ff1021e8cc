package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Formats of the report.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

// ParseFormat reads a --format value ("md" is markdown).
func ParseFormat(s string) (string, error) {
	switch f := strings.ToLower(strings.TrimSpace(s)); f {
	case FormatText, FormatMarkdown, FormatJSON:
		return f, nil
	case "md":
		return FormatMarkdown, nil
	}
	return "", fmt.Errorf("want text, markdown or json, got %q", s)
}

// Write writes the report in format.
func (rep *Report) Write(w io.Writer, format string) error {
	var err error
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // rules hold < and >
		err = enc.Encode(rep)
	case FormatMarkdown:
		_, err = io.WriteString(w, rep.markdown())
	default:
		_, err = io.WriteString(w, rep.text())
	}
	if err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

// header is the column titles of the table.
var header = []string{"endpoint", "req/s", "error rate", "p50", "p90", "p95", "p99", "max", "verdict"}

// cells gives a row's table cells, in header order.
func (rep *Report) cells(r *Row, label string) []string {
	c := []string{label}
	for _, m := range Metrics {
		c = append(c, cell(m, r.Of(m)))
	}
	return append(c, verdict(r))
}

// labels names each row for people: the method and name (the default name
// already starts with the method), with the URL when two rows would read alike.
func (rep *Report) labels() []string {
	labels := make([]string, len(rep.Endpoints))
	count := map[string]int{}
	for i, r := range rep.Endpoints {
		l := r.Name
		if r.Method != "" && !strings.HasPrefix(l, r.Method+" ") {
			l = r.Method + " " + l
		}
		labels[i] = l
		count[l]++
	}
	for i, r := range rep.Endpoints {
		if count[labels[i]] > 1 && r.URL != "" {
			labels[i] += " (" + r.URL + ")"
		}
	}
	// Rows alike in every way are told apart by their order.
	seen := map[string]int{}
	for i, l := range labels {
		seen[l]++
		if n := seen[l]; n > 1 {
			labels[i] = fmt.Sprintf("%s #%d", l, n)
		}
	}
	return labels
}

func cell(m Metric, d Delta) string {
	side := func(v *float64) string {
		if v == nil {
			return "–"
		}
		return value(m, *v)
	}
	s := side(d.Base) + " → " + side(d.New)
	if d.Diff != nil {
		s += " (" + change(m, *d.Diff, d.Pct) + ")"
	}
	return s
}

// change shows a change: in percent where the base is not 0 (the error rate
// in percentage points, which is how people read it), else in the unit.
func change(m Metric, diff float64, pct *float64) string {
	if m == ErrorRate {
		return signed(100*diff, 2) + "pp"
	}
	if pct != nil {
		return signed(*pct, 1) + "%"
	}
	return signedValue(m, diff)
}

func value(m Metric, v float64) string {
	switch {
	case m == RPS:
		return fmt.Sprintf("%.1f", v)
	case m == ErrorRate:
		return fmt.Sprintf("%.2f%%", 100*v)
	default:
		return fmtMs(v)
	}
}

func signedValue(m Metric, v float64) string {
	s := value(m, v)
	if v >= 0 {
		return "+" + s
	}
	return s
}

func signed(v float64, prec int) string {
	return fmt.Sprintf("%+.*f", prec, v)
}

// fmtMs is the summary's latency format: 3 significant digits, ms or s.
func fmtMs(ms float64) string {
	a := ms
	if a < 0 {
		a = -a
	}
	switch {
	case a >= 1000:
		return fmt.Sprintf("%.2fs", ms/1000)
	case a >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case a >= 10:
		return fmt.Sprintf("%.1fms", ms)
	default:
		return fmt.Sprintf("%.2fms", ms)
	}
}

func verdict(r *Row) string {
	switch r.Verdict {
	case VerdictFail:
		parts := make([]string, len(r.Failed))
		for i, b := range r.Failed {
			parts[i] = b.Rule + " (" + breachChange(b) + ")"
		}
		return "✗ " + strings.Join(parts, ", ")
	case VerdictNoData:
		return "no requests in one run"
	default:
		return r.Verdict
	}
}

func breachChange(b Breach) string {
	if strings.HasSuffix(b.Rule, "%") {
		if b.Pct == nil {
			return "from 0"
		}
		return signed(*b.Pct, 1) + "%"
	}
	if b.Metric == ErrorRate {
		return signed(100*b.Diff, 2) + "pp"
	}
	if b.Metric == RPS {
		return signed(b.Diff, 1) + "/s"
	}
	return signedValue(b.Metric, b.Diff)
}

// outcome is the one-line conclusion.
func (rep *Report) outcome() string {
	if len(rep.Rules) == 0 {
		return "no --fail-if rules: deltas only"
	}
	if rep.Regressions == 0 {
		return "no regression beyond " + strings.Join(rep.Rules, ", ")
	}
	return fmt.Sprintf("%d %s beyond the rules: %s", rep.Regressions, plural(rep.Regressions, "regression"), strings.Join(rep.Failing(), "; "))
}

// notes warn of figures that cover only part of a run.
func (rep *Report) notes() []string {
	var out []string
	for _, side := range []struct {
		which string
		ri    RunInfo
	}{{"base", rep.Base}, {"new", rep.New}} {
		if side.ri.State != "" && side.ri.State != "completed" {
			out = append(out, fmt.Sprintf("note: the %s run was %s: its figures cover only part of its load", side.which, side.ri.State))
		}
	}
	return out
}

// Failing lists the rows that broke a rule, each with its rules.
func (rep *Report) Failing() []string {
	var out []string
	labels := rep.labels()
	for i := range rep.Endpoints {
		if r := &rep.Endpoints[i]; r.Verdict == VerdictFail {
			out = append(out, labels[i]+" ("+ruleList(r)+")")
		}
	}
	if rep.Totals.Verdict == VerdictFail {
		out = append(out, "total ("+ruleList(&rep.Totals)+")")
	}
	return out
}

func ruleList(r *Row) string {
	rules := make([]string, len(r.Failed))
	for i, b := range r.Failed {
		rules[i] = b.Rule
	}
	return strings.Join(rules, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func runLine(ri RunInfo) string {
	parts := []string{}
	if ri.Name != "" {
		parts = append(parts, ri.Name)
	}
	if ri.RunID != "" {
		parts = append(parts, "run "+ri.RunID)
	}
	if ri.StartedAt != "" {
		parts = append(parts, ri.StartedAt)
	}
	parts = append(parts, fmt.Sprintf("%.1fs", ri.DurationS))
	if ri.State != "" && ri.State != "completed" {
		parts = append(parts, ri.State)
	}
	return strings.Join(parts, ", ")
}

func (rep *Report) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "base  %s  %s\n", rep.Base.File, runLine(rep.Base))
	fmt.Fprintf(&b, "new   %s  %s\n\n", rep.New.File, runLine(rep.New))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	labels := rep.labels()
	for i := range rep.Endpoints {
		fmt.Fprintln(tw, strings.Join(rep.cells(&rep.Endpoints[i], labels[i]), "\t"))
	}
	fmt.Fprintln(tw, strings.Join(rep.cells(&rep.Totals, "total"), "\t"))
	tw.Flush()
	b.WriteString("\n")
	for _, n := range rep.notes() {
		b.WriteString(n + "\n")
	}
	fmt.Fprintf(&b, "%s\n", rep.outcome())
	return b.String()
}

// mdFoldAfter is how many endpoint rows a Markdown report shows before it
// folds away those without news.
const mdFoldAfter = 30

func (rep *Report) markdown() string {
	var b strings.Builder
	switch {
	case len(rep.Rules) == 0:
		b.WriteString("### loadforge compare\n\n")
	case rep.Regressions == 0:
		b.WriteString("### loadforge compare: ✅ no regression\n\n")
	default:
		fmt.Fprintf(&b, "### loadforge compare: ❌ %d %s\n\n", rep.Regressions, plural(rep.Regressions, "regression"))
	}
	fmt.Fprintf(&b, "**base** %s: %s  \n", mdCode(rep.Base.File), mdEscape(runLine(rep.Base)))
	fmt.Fprintf(&b, "**new** %s: %s  \n", mdCode(rep.New.File), mdEscape(runLine(rep.New)))
	if len(rep.Rules) > 0 {
		rules := make([]string, len(rep.Rules))
		for i, r := range rep.Rules {
			rules[i] = mdCode(r)
		}
		fmt.Fprintf(&b, "**rules** %s\n\n", strings.Join(rules, " "))
	} else {
		b.WriteString("no `--fail-if` rules: deltas only\n\n")
	}
	tableHead := func() {
		b.WriteString("| " + strings.Join(header, " | ") + " |\n")
		b.WriteString("|---|" + strings.Repeat("--:|", len(Metrics)) + "---|\n")
	}
	line := func(c []string, bold bool) {
		for i := range c {
			c[i] = mdEscape(c[i])
		}
		if bold {
			c[0] = "**" + c[0] + "**"
		}
		if strings.HasPrefix(c[len(c)-1], "✗") {
			c[len(c)-1] = "**" + c[len(c)-1] + "**"
		}
		b.WriteString("| " + strings.Join(c, " | ") + " |\n")
	}
	labels := rep.labels()
	// A long table would pass a comment's size limit (65,536 characters on
	// GitHub) and bury the news: beyond mdFoldAfter rows, the rows without
	// news fold away under the table.
	var shown, folded []int
	for i, r := range rep.Endpoints {
		if len(rep.Endpoints) > mdFoldAfter && (r.Verdict == VerdictOK || r.Verdict == VerdictNoData) {
			folded = append(folded, i)
		} else {
			shown = append(shown, i)
		}
	}
	tableHead()
	for _, i := range shown {
		line(rep.cells(&rep.Endpoints[i], labels[i]), false)
	}
	line(rep.cells(&rep.Totals, "total"), true)
	if len(folded) > 0 {
		fmt.Fprintf(&b, "\n<details><summary>%d more %s without a broken rule</summary>\n\n", len(folded), plural(len(folded), "endpoint"))
		tableHead()
		for _, i := range folded {
			line(rep.cells(&rep.Endpoints[i], labels[i]), false)
		}
		b.WriteString("\n</details>\n")
	}
	for _, n := range rep.notes() {
		b.WriteString("\n" + mdEscape(n) + "\n")
	}
	return b.String()
}

// mdEscape keeps text literal in a Markdown table cell: no column breaks,
// emphasis, links, HTML or line breaks from names in the plan.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '#', '~', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode puts s in a code span, with a fence longer than any run of
// backticks in it.
func mdCode(s string) string {
	s = strings.NewReplacer("\n", " ", "\r", " ", "|", "\\|").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
