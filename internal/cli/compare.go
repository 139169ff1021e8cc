package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loadforge/loadforge/internal/compare"
)

var compareSettings = []setting{
	{flag: "fail-if", key: "fail_if", kind: kindList, sep: "\n",
		usage: "regression `RULE`, e.g. 'p95>+10%', 'p99>+20ms', 'error_rate>+0.01', 'rps<-5%': exit 99 when an endpoint or the total breaks it (repeatable; one per line in LOADFORGE_FAIL_IF)"},
	{flag: "format", key: "format", def: compare.FormatText, usage: "output `FORMAT`: text, markdown (a pull-request comment) or json"},
}

func (a *app) compareCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compare BASE.json NEW.json",
		Short: "Compare two results (--out): per-endpoint deltas, regressions beyond --fail-if exit 99",
		Long: `Compare two result documents written by run --out: per endpoint (matched by
name, method and URL, then by name and method) and in total, the change of
req/s, error rate and latency p50/p90/p95/p99/max, with a verdict.

A --fail-if rule is METRIC, > or <, and a change: relative (+10%) or absolute
(+20ms, +0.5s for latency; a fraction such as +0.01 for error_rate; req/s for
rps). METRIC is p50, p90, p95, p99, max, error_rate or rps. "p95>+10%" fails
when p95 rose by more than 10 %, "rps<-5%" when req/s fell by more than 5 %.
METRIC{endpoint:NAME} holds a rule to one endpoint: "p95{endpoint:search}>+5%".

Exit codes: 0 no rule broken, 99 a rule broken, 2 bad usage or a file that is
not a result.`,
		Example: `  loadforge compare base.json new.json
  loadforge compare base.json new.json --fail-if 'p95>+10%' --fail-if 'error_rate>+0.01'
  loadforge compare base.json new.json --format markdown > comment.md`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("compare takes BASE.json and NEW.json, got %d arguments", len(args))
			}
			return nil
		},
	}
	addFlags(cmd.Flags(), compareSettings)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		st, err := newSettings(cmd.Flags(), compareSettings)
		if err != nil {
			return failure(err)
		}
		formatSetting := find(compareSettings, "format")
		format, err := compare.ParseFormat(st.text(formatSetting))
		if err != nil {
			_, origin, _ := st.lookup(formatSetting)
			return fmt.Errorf("%s: %w", originOr(origin, formatSetting), err)
		}
		ruleSetting := find(compareSettings, "fail-if")
		texts, origin, _ := st.lookup(ruleSetting)
		rules, err := compare.ParseRules(texts)
		if err != nil {
			return fmt.Errorf("%s %w", originOr(origin, ruleSetting), err)
		}
		base, err := compare.Load(args[0])
		if err != nil {
			return err
		}
		cur, err := compare.Load(args[1])
		if err != nil {
			return err
		}
		if err := compare.Check(rules, base, cur); err != nil {
			return fmt.Errorf("%s %w", originOr(origin, ruleSetting), err)
		}
		rep := compare.Compare(base, cur, rules)
		rep.Base.File, rep.New.File = args[0], args[1]
		if err := rep.Write(a.stdout, format); err != nil {
			return failure(err)
		}
		if rep.Regressions > 0 {
			return &exitError{code: ExitThreshold, err: errors.New("compare: " + strings.Join(rep.Failing(), "; "))}
		}
		return nil
	}
	return cmd
}
