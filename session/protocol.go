package session

import "github.com/loadforge/loadforge/schemas"

// errorsWhy is what the summary's error line adds when TLS connections
// failed: why the first one did, and how to get past it.
func errorsWhy(r *schemas.Result) string {
	for _, e := range r.Endpoints {
		if e.TLSError != "" {
			return " — " + schemas.ErrTLS + " failures: " + e.TLSError
		}
	}
	return ""
}

// protocolLine names the protocols and clients of the run, e.g. "HTTP/2.0
// (net/http)"; "" when the workers did not say.
func protocolLine(r *schemas.Result) string {
	switch {
	case r.Protocol == "":
		return ""
	case r.HTTPClient == "":
		return r.Protocol
	}
	return r.Protocol + " (" + r.HTTPClient + ")"
}
