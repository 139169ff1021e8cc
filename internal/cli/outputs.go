package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loadforge/loadforge/internal/csvout"
	"github.com/loadforge/loadforge/internal/output"
	"github.com/loadforge/loadforge/internal/report"
	"github.com/loadforge/loadforge/schemas"
)

// outputSettings are the files made from the result at the end of a run.
var outputSettings = []setting{
	{flag: "report", key: "report", usage: "write an HTML report of the run to `FILE.html` (also when interrupted or aborted)"},
	{flag: "csv", key: "csv", usage: "write Locust's CSV files `PREFIX`_stats.csv, PREFIX_stats_history.csv and PREFIX_failures.csv"},
}

// outputs are the result's files a run or the report command writes.
type outputs struct {
	report, csv string
}

// readOutputs reads --report and --csv and checks, before anything runs,
// that their files can be written.
func readOutputs(st *settings) (outputs, error) {
	o := outputs{report: st.text(find(outputSettings, "report")), csv: st.text(find(outputSettings, "csv"))}
	if o.report != "" {
		if err := checkWritable(originOf(st, "report"), o.report, o.report); err != nil {
			return o, err
		}
	}
	if o.csv != "" {
		for _, p := range csvout.Paths(o.csv) {
			if err := checkWritable(originOf(st, "csv"), o.csv, p); err != nil {
				return o, err
			}
		}
	}
	return o, nil
}

func originOf(st *settings, flag string) string {
	s := find(outputSettings, flag)
	_, origin, _ := st.lookup(s)
	return originOr(origin, s)
}

// checkWritable fails unless path (value itself, or one of the files made
// from it) can be written as output.WriteFile writes it: its directory takes
// a new file, or it is a FIFO or device that takes writes; a symbolic link
// is followed.
func checkWritable(origin, value, path string) error {
	return output.CheckPath(origin, value, path)
}

// write makes the files from the run's result.
func (o outputs) write(res *schemas.Result) error {
	if o.report != "" {
		ver, _, _ := buildInfo()
		if err := report.WriteFile(o.report, res, report.Options{Version: ver}); err != nil {
			return err
		}
	}
	if o.csv != "" {
		if err := csvout.Write(o.csv, res); err != nil {
			return err
		}
	}
	return nil
}

// reportSettings are the report command's flags.
var reportSettings = []setting{
	{flag: "output", key: "output", usage: "write the HTML report to `FILE.html`"},
}

func (a *app) reportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report RESULT.json -o FILE.html",
		Short: "Make the HTML report (and Locust's CSV files) of a saved result",
		Long: `Make the HTML report of a result written by run --out: one self-contained
page that opens without a network. The same result gives the same page as
run --report. --csv PREFIX writes Locust's CSV files from it too.`,
		Example: `  loadforge report result.json -o report.html
  loadforge report result.json --csv results/run1`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("report takes one RESULT.json, got %d arguments", len(args))
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	// -o as in most tools; addFlags has no shorthands.
	fs.StringP(reportSettings[0].flag, "o", "", reportSettings[0].usage)
	addFlags(fs, outputSettings[1:])
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		st, err := newSettings(cmd.Flags(), reportSettings, outputSettings[1:])
		if err != nil {
			return failure(err)
		}
		o := outputs{report: st.text(reportSettings[0]), csv: st.text(find(outputSettings, "csv"))}
		if o.report == "" && o.csv == "" {
			return errors.New("report: give -o FILE.html or --csv PREFIX")
		}
		if o.report != "" {
			if err := checkWritable("-o", o.report, o.report); err != nil {
				return err
			}
		}
		if o.csv != "" {
			for _, p := range csvout.Paths(o.csv) {
				if err := checkWritable("--csv", o.csv, p); err != nil {
					return err
				}
			}
		}
		res, err := readResult(args[0])
		if err != nil {
			return err
		}
		if err := o.write(res); err != nil {
			return failure(err)
		}
		return nil
	}
	return cmd
}

// readResult reads a result document written by run --out.
func readResult(path string) (*schemas.Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	var res schemas.Result
	if err := json.Unmarshal(data, &res); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + strings.Count(string(data[:min(int(se.Offset), len(data))]), "\n")
			return nil, fmt.Errorf("%s:%d: not a result document: %v", path, line, se)
		}
		return nil, fmt.Errorf("%s: not a result document: %v", path, err)
	}
	if res.SchemaVersion != schemas.ResultVersion {
		return nil, fmt.Errorf("%s: schema_version %d, want %d (a result written by run --out)", path, res.SchemaVersion, schemas.ResultVersion)
	}
	return &res, nil
}
