package plan

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/loadforge/loadforge/schemas"
)

// TLS is the plan's tls: mapping, how to reach an https:// target. Files are
// PEM, relative to the plan's directory (to the working directory when a
// flag names them).
type TLS struct {
	Insecure   *bool
	CA         string
	Cert       string
	Key        string
	ServerName string
	MinVersion string
}

func (d *decoder) tls(t *TLS) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		return d.mapping(n, path, []field{
			{"insecure", typed(d, &t.Insecure, parseBool)},
			{"ca", d.str(&t.CA)},
			{"cert", d.str(&t.Cert)},
			{"key", d.str(&t.Key)},
			{"server_name", d.str(&t.ServerName)},
			{"min_version", d.str(&t.MinVersion)},
		})
	}
}

// applyConnection lays the connection overrides over the plan. File names
// from flags are made absolute: they are relative to the working directory,
// not to the plan's.
func (r *Raw) applyConnection(by map[string]Override) error {
	if o, ok := by[KeyHTTPVersion]; ok {
		r.HTTPVersion = o.last()
		r.set(KeyHTTPVersion, o.Origin)
	}
	if o, ok := by[KeyNoKeepAlive]; ok {
		no, err := parseBool(o.last())
		if err != nil {
			return &Error{Where: o.Origin, Msg: err.Error()}
		}
		keep := !no
		r.KeepAlive = &keep
		r.set("keepalive", o.Origin)
	}
	if o, ok := by[KeyTLSInsecure]; ok {
		b, err := parseBool(o.last())
		if err != nil {
			return &Error{Where: o.Origin, Msg: err.Error()}
		}
		r.TLS.Insecure = &b
		r.set(KeyTLSInsecure, o.Origin)
	}
	for key, dst := range map[string]*string{KeyTLSCA: &r.TLS.CA, KeyTLSCert: &r.TLS.Cert, KeyTLSKey: &r.TLS.Key} {
		if o, ok := by[key]; ok {
			name := o.last()
			if abs, err := filepath.Abs(name); err == nil && name != "" {
				name = abs
			}
			*dst = name
			r.set(key, o.Origin)
		}
	}
	for key, dst := range map[string]*string{KeyTLSServerName: &r.TLS.ServerName, KeyTLSMinVersion: &r.TLS.MinVersion} {
		if o, ok := by[key]; ok {
			*dst = o.last()
			r.set(key, o.Origin)
		}
	}
	return nil
}

// connection checks the plan's connection settings and puts them in the
// spec, with the certificate files read in: the spec carries them to remote
// workers.
func (b *builder) connection(spec *schemas.RunSpec) error {
	r := b.r
	if !schemas.ValidHTTPVersion(r.HTTPVersion) {
		return r.errorAt(KeyHTTPVersion, fmt.Sprintf("want %s, %s or %s, got %q",
			schemas.HTTPVersionAuto, schemas.HTTPVersion11, schemas.HTTPVersion2, r.HTTPVersion))
	}
	if r.HTTPVersion == schemas.HTTPVersion2 && r.HTTPClient == schemas.HTTPClientFast {
		return r.errorAt(KeyHTTPVersion, fmt.Sprintf("http_client %s speaks HTTP/1.1 only; HTTP/2 needs %s or %s",
			schemas.HTTPClientFast, schemas.HTTPClientAuto, schemas.HTTPClientNetHTTP))
	}
	spec.HTTPVersion = r.HTTPVersion
	spec.NoKeepAlive = r.KeepAlive != nil && !*r.KeepAlive
	t := r.TLS
	if t == (TLS{}) {
		return nil
	}
	out := &schemas.TargetTLS{ServerName: t.ServerName, MinVersion: t.MinVersion}
	if t.Insecure != nil {
		out.Insecure = *t.Insecure
	}
	switch t.MinVersion {
	case "", "1.2", "1.3":
	default:
		return r.errorAt(KeyTLSMinVersion, fmt.Sprintf("want 1.2 or 1.3, got %q", t.MinVersion))
	}
	var err error
	if out.CAPEM, err = b.pemFile(KeyTLSCA, t.CA); err != nil {
		return err
	}
	if out.CAPEM != nil && !x509.NewCertPool().AppendCertsFromPEM(out.CAPEM) {
		return r.errorAt(KeyTLSCA, fmt.Sprintf("%s holds no PEM certificate", t.CA))
	}
	if out.CertPEM, err = b.pemFile(KeyTLSCert, t.Cert); err != nil {
		return err
	}
	if out.KeyPEM, err = b.pemFile(KeyTLSKey, t.Key); err != nil {
		return err
	}
	switch {
	case t.Cert != "" && t.Key == "":
		return r.errorAt(KeyTLSCert, "a client certificate needs its key too (tls.key, --target-key)")
	case t.Key != "" && t.Cert == "":
		return r.errorAt(KeyTLSKey, "a client key needs its certificate too (tls.cert, --target-cert)")
	case t.Cert != "":
		if _, err := tls.X509KeyPair(out.CertPEM, out.KeyPEM); err != nil {
			return r.errorAt(KeyTLSCert, fmt.Sprintf("%s and %s: %s", t.Cert, t.Key, schemas.OneLine(err.Error())))
		}
	}
	spec.TLS = out
	return nil
}

// pemFile reads the file a TLS setting names (relative to the plan's
// directory), at most schemas.MaxTLSFileBytes of it; nil for no file.
func (b *builder) pemFile(key, name string) ([]byte, error) {
	if name == "" {
		return nil, nil
	}
	path := name
	if !filepath.IsAbs(path) && b.r.dir != "" {
		path = filepath.Join(b.r.dir, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, b.r.errorAt(key, schemas.OneLine(err.Error()))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, schemas.MaxTLSFileBytes+1))
	if err != nil {
		return nil, b.r.errorAt(key, schemas.OneLine(err.Error()))
	}
	if len(data) > schemas.MaxTLSFileBytes {
		return nil, b.r.errorAt(key, fmt.Sprintf("%s is larger than %d KiB, too large for a PEM file to carry to the workers", name, schemas.MaxTLSFileBytes>>10))
	}
	return data, nil
}
