package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/loadforge/loadforge/internal/plan"
)

// urlArgument reads `loadforge run http://host/` as --url, as wrk and hey
// take their target: the overrides gain the URL, and no plan file is read.
// A URL given both ways is refused.
func urlArgument(args []string, overrides []plan.Override) ([]string, []plan.Override, error) {
	if len(args) != 1 || !isURL(args[0]) {
		return args, overrides, nil
	}
	for _, o := range overrides {
		if o.Key == plan.KeyURL {
			return nil, nil, fmt.Errorf("the URL %s is given twice: as the argument and as %s", args[0], o.Origin)
		}
	}
	return nil, append(overrides, plan.Override{Key: plan.KeyURL, Values: []string{args[0]}, Origin: "the URL argument"}), nil
}

func isURL(arg string) bool {
	return strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://")
}

// errNoPlan is what run and validate say when given neither a plan nor a URL.
var errNoPlan = errors.New("give a PLAN.yaml, a URL or --url (see --help)")

// plainBoolUsage drops pflag's "[=true|false]" after boolean flags in the
// help: `--quiet` reads as a switch, which it is.
func plainBoolUsage(root *cobra.Command) {
	cobra.AddTemplateFunc("flagUsages", func(fs *pflag.FlagSet) string {
		const suffix = "[=true|false]" // replaced by as many spaces, to keep the columns
		return strings.ReplaceAll(fs.FlagUsages(), suffix, strings.Repeat(" ", len(suffix)))
	})
	t := root.UsageTemplate()
	t = strings.ReplaceAll(t, ".LocalFlags.FlagUsages", "flagUsages .LocalFlags")
	t = strings.ReplaceAll(t, ".InheritedFlags.FlagUsages", "flagUsages .InheritedFlags")
	root.SetUsageTemplate(t)
}

// versionFlag makes `loadforge --version` print what `loadforge version` does.
func (a *app) versionFlag(root *cobra.Command) {
	v, c, modified := buildInfo()
	if modified {
		c += " (modified)"
	}
	root.Version = v
	root.SetVersionTemplate(versionText(v, c))
}
