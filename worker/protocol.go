package worker

import (
	"strings"

	"github.com/loadforge/loadforge/schemas"
)

// via says which client and protocol carried a request, as bits, so that an
// endpoint's requests of an interval sum up with an or.
type via uint8

const (
	viaFast    via = 1 << iota // the fast HTTP/1.1 client
	viaNetHTTP                 // net/http, or its HTTP/2
	viaHTTP11
	viaHTTP2
)

// protocols is the protocols of v joined by "+", "" for none.
func (v via) protocols() string {
	switch {
	case v&viaHTTP11 != 0 && v&viaHTTP2 != 0:
		return schemas.ProtocolHTTP11 + "+" + schemas.ProtocolHTTP2
	case v&viaHTTP11 != 0:
		return schemas.ProtocolHTTP11
	case v&viaHTTP2 != 0:
		return schemas.ProtocolHTTP2
	}
	return ""
}

// clients is the clients of v joined by "+", "" for none.
func (v via) clients() string {
	var names []string
	if v&viaFast != 0 {
		names = append(names, schemas.HTTPClientFast)
	}
	if v&viaNetHTTP != 0 {
		names = append(names, schemas.HTTPClientNetHTTP)
	}
	return strings.Join(names, "+")
}

// recordVia notes how o went and, for its first TLS failure of the
// interval, why. The shard's lock is held.
func (e *endpointStats) recordVia(o outcome) {
	e.via |= o.via
	if o.errKind == kindTLS && e.tlsError == "" && o.err != nil {
		e.tlsError = tlsReason(o.err)
	}
}

// takeVia adds e's protocols, clients and TLS failure to m and empties them.
// The shard's lock is held.
func (e *endpointStats) takeVia(m *schemas.EndpointMetrics, seen *via) {
	*seen |= e.via
	if m.TLSError == "" {
		m.TLSError = e.tlsError
	}
	e.via, e.tlsError = 0, ""
}

// fillVia names the protocols and clients seen in m.
func fillVia(m *schemas.EndpointMetrics, seen via) {
	m.Protocol = seen.protocols()
	if c := seen.clients(); c != "" {
		m.HTTPClient = c
	}
}
