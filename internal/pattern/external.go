package pattern

import (
	"fmt"
	"time"
)

// ExternalLoad is a load driven from outside the run (k6 once called it the
// externally-controlled executor): its target VUs come from control commands
// that another program publishes on loadforge.<run>.control.
type ExternalLoad struct {
	// InitialVUs run from the start until the first command.
	InitialVUs int
	// MaxVUs caps every command; a command above it runs MaxVUs.
	MaxVUs int
	// Duration ends the run; zero lasts until a command with done, or a signal.
	Duration time.Duration
}

// Validate reports what makes the load unusable.
func (l ExternalLoad) Validate() error {
	switch {
	case l.MaxVUs <= 0:
		return fmt.Errorf("external load: max VUs %d must be positive", l.MaxVUs)
	case l.InitialVUs < 0 || l.InitialVUs > l.MaxVUs:
		return fmt.Errorf("external load: initial VUs %d must be 0 to max VUs %d", l.InitialVUs, l.MaxVUs)
	case l.Duration < 0:
		return fmt.Errorf("external load: duration %s is negative", l.Duration)
	}
	return nil
}
