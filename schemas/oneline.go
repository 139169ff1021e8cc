package schemas

import "strings"

// OneLine folds a message onto one line, as every error shown to a user is:
// plan errors, check and template errors, the CLI's last word.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
