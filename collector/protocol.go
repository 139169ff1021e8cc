package collector

import (
	"slices"
	"strings"

	"github.com/loadforge/loadforge/schemas"
)

// protocols is what an endpoint's events said of how its requests went: the
// HTTP protocols, and why its first TLS failure failed.
type protocols struct {
	names    []string
	tlsError string
}

// add takes in one event's entry of the endpoint.
func (p *protocols) add(ep *schemas.EndpointMetrics) {
	for name := range strings.SplitSeq(ep.Protocol, "+") {
		if name != "" && !slices.Contains(p.names, name) {
			p.names = append(p.names, name)
			slices.Sort(p.names)
		}
	}
	if p.tlsError == "" {
		p.tlsError = ep.TLSError
	}
}

// String is the protocols joined by "+", sorted; "" when no worker said.
func (p *protocols) String() string { return strings.Join(p.names, "+") }

// resultProtocols joins the endpoints' protocols, sorted, by "+".
func resultProtocols(eps []schemas.EndpointResult) string {
	var all protocols
	for _, e := range eps {
		all.add(&schemas.EndpointMetrics{Protocol: e.Protocol})
	}
	return all.String()
}
