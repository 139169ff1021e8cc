package session

import (
	"fmt"

	"github.com/loadforge/loadforge/internal/bus"
)

// controlPublishers says, for people, who may publish control commands on
// the run's bus; the credential is named, never shown.
func controlPublishers(c bus.Config) string {
	switch {
	case c.URL != "":
		return fmt.Sprintf("the users of %s allowed to publish there", c.URL)
	case c.ControlToken != "":
		return "clients presenting --control-token at " + c.Listen
	case c.Token == "" && c.User == "" && c.Listen != "":
		return "any client of " + c.Listen + " (the bus has no credentials)"
	case c.Listen != "":
		return "nobody: the workers' credential may not publish control commands; give --control-token"
	default:
		return "nobody: the bus is private; give --listen or --nats"
	}
}
