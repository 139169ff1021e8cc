package schemas

import "time"

// Defaults for what a plan, a flag or a Spec may leave out, declared once:
// the plan fills them in, the stages apply them to a zero value, and the
// CLI's help names them.
const (
	// DefaultTimeout is the per-request timeout (a Spec's TimeoutNs 0).
	DefaultTimeout = 10 * time.Second
	// DefaultGracefulStop is k6's default too: long enough for slow iterations to end.
	DefaultGracefulStop = 30 * time.Second
)
