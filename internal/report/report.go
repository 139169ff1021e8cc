// Package report renders a run's result as one self-contained HTML page:
// styles and script inline, charts drawn here as SVG, nothing fetched from
// anywhere when it is opened. The page depends on the result alone, so the
// same result always gives the same bytes.
package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"io"

	"github.com/loadforge/loadforge/internal/output"
	"github.com/loadforge/loadforge/schemas"
)

var (
	//go:embed assets/report.html.tmpl
	pageTemplate string
	//go:embed assets/report.css
	css string
	//go:embed assets/report.js
	js string
)

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":      fmtMs,
	"count":   fmtCount,
	"num":     fmtNum,
	"pct":     fmtPct,
	"bytes":   fmtBytes,
	"seconds": fmtSeconds,
	"css":     func() template.CSS { return template.CSS(css) },
	"js":      func() template.JS { return template.JS(js) },
	"add64":   func(a, b uint64) uint64 { return a + b },
}).Parse(pageTemplate))

// Options are what the page shows beyond the result.
type Options struct {
	// Version is the loadforge version named in the page's footer.
	Version string
}

// Render writes the report of r to w.
func Render(w io.Writer, r *schemas.Result, opt Options) error {
	if err := tmpl.Execute(w, build(r, opt.Version)); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}

// WriteFile writes the report of r to path atomically: a reader never sees half a page.
func WriteFile(path string, r *schemas.Result, opt Options) error {
	var buf bytes.Buffer
	if err := Render(&buf, r, opt); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

func writeAtomic(path string, data []byte) error {
	if err := output.WriteFile(path, data); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}
