package cli

import (
	"fmt"
	"net"
)

// checkHostPort refuses an address to listen on or dial that is not
// HOST:PORT, naming where it came from (a flag, or a variable).
func checkHostPort(origin, addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%s %q: want HOST:PORT", origin, addr)
	}
	return nil
}
