// Package fdlimit raises the process's open-file limit and tells whether a
// load can get the connections it needs. A generator that runs out of file
// descriptors measures itself, not the target, so a plan that cannot fit is
// refused before it starts.
package fdlimit

import (
	"fmt"
	"net/url"
)

// Reserve is what the process needs besides its VUs' connections: the bus,
// logs, the output files, the runtime's own descriptors, a margin.
const Reserve = 64

// Need estimates the descriptors a run of vus VUs needs: each VU keeps one
// connection per distinct origin (scheme and host) its requests go to.
func Need(vus int, urls []string) uint64 {
	origins := map[string]bool{}
	for _, u := range urls {
		if p, err := url.Parse(u); err == nil && p.Host != "" {
			origins[p.Scheme+"://"+p.Host] = true
		}
	}
	return uint64(max(vus, 0))*uint64(max(len(origins), 1)) + Reserve
}

// Check refuses a load of vus VUs whose connections cannot fit under the soft
// limit soft (hard: the most it could be raised to). what names the load
// setting for the message, e.g. "--vus 3000".
func Check(what string, vus int, urls []string, soft, hard uint64) error {
	need := Need(vus, urls)
	if need <= soft {
		return nil
	}
	conns := need - Reserve
	raise := "raise the hard limit (ulimit -Hn as root, LimitNOFILE= in a systemd unit, nofile in /etc/security/limits.conf)"
	if need <= hard {
		raise = fmt.Sprintf("raise the limit to at least %d (ulimit -n %d)", need, need)
	}
	return fmt.Errorf("%s needs about %d file descriptors (%d connections + %d for the process) but the open-file limit is %d (hard %d): %s, or spread the VUs over more worker processes",
		what, need, conns, Reserve, soft, hard, raise)
}
