package worker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/loadforge/loadforge/schemas"
)

// targetTLSConfig is the TLS configuration of the target's connections: the
// spec's options over Go's defaults, with one session cache shared by every
// connection of the worker, so that reconnects resume their sessions.
func targetTLSConfig(t *schemas.TargetTLS) (*tls.Config, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(0),
	}
	if t == nil {
		return cfg, nil
	}
	cfg.InsecureSkipVerify = t.Insecure
	cfg.ServerName = t.ServerName
	switch t.MinVersion {
	case "", "1.2":
	case "1.3":
		cfg.MinVersion = tls.VersionTLS13
	default:
		return nil, fmt.Errorf("tls min_version %q: want 1.2 or 1.3", t.MinVersion)
	}
	if len(t.CAPEM) > 0 {
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(t.CAPEM) {
			return nil, errors.New("tls ca: no PEM certificate in it")
		}
		cfg.RootCAs = roots
	}
	switch {
	case len(t.CertPEM) > 0 && len(t.KeyPEM) > 0:
		cert, err := tls.X509KeyPair(t.CertPEM, t.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("tls cert and key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	case len(t.CertPEM) > 0:
		return nil, errors.New("tls cert: given without its key")
	case len(t.KeyPEM) > 0:
		return nil, errors.New("tls key: given without its cert")
	}
	return cfg, nil
}

// tlsReason says why a TLS connection failed, for the summary: what the
// certificate check found, and how to get past it.
func tlsReason(err error) string {
	const trust = "; trust its CA with --target-ca FILE, or skip verification with --insecure"
	var (
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknown):
		return "the target's certificate is signed by an unknown authority" + trust
	case errors.As(err, &host):
		return "the target's certificate does not match its name: " + host.Error() +
			"; name the server with tls.server_name, or skip verification with --insecure"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "the target's certificate has expired or is not yet valid: " + invalid.Error() +
			"; skip verification with --insecure"
	case errors.As(err, &invalid):
		return "the target's certificate is not valid: " + invalid.Error() + trust
	}
	return err.Error()
}
