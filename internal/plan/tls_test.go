package plan

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// selfSigned writes a self-signed certificate and its key as PEM files in dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for name, data := range map[string][]byte{certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, certPEM, keyPEM
}

// The tls: keys, http_version and keepalive reach the spec, certificate
// files read relative to the plan (or the working directory for flags), and
// bad values are refused with the field's place.
func TestConnectionSettings(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, certPEM, keyPEM := selfSigned(t, dir)
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, bytes.Repeat([]byte("A"), schemas.MaxTLSFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsPlan := strings.Replace(valid, "http://127.0.0.1:8080", "https://127.0.0.1:8443", 1)
	cases := []struct {
		name      string
		src       string
		overrides []Override
		check     func(schemas.RunSpec) bool
		err       string // the error's start; "" for none
	}{
		{"none", tlsPlan, nil, func(s schemas.RunSpec) bool { return s.TLS == nil && !s.NoKeepAlive && s.HTTPVersion == "" }, ""},
		{"plan", tlsPlan + "http_version: \"2\"\nkeepalive: false\ntls:\n  ca: cert.pem\n  cert: cert.pem\n  key: key.pem\n  server_name: shop.example\n  min_version: \"1.3\"\n  insecure: true\n", nil,
			func(s schemas.RunSpec) bool {
				return s.HTTPVersion == "2" && s.NoKeepAlive && s.TLS != nil && bytes.Equal(s.TLS.CAPEM, certPEM) &&
					bytes.Equal(s.TLS.CertPEM, certPEM) && bytes.Equal(s.TLS.KeyPEM, keyPEM) && s.TLS.ServerName == "shop.example" &&
					s.TLS.MinVersion == "1.3" && s.TLS.Insecure
			}, ""},
		{"flags", tlsPlan, []Override{ov(KeyTLSCA, "--target-ca", certFile), ov(KeyTLSCert, "--target-cert", certFile), ov(KeyTLSKey, "--target-key", keyFile),
			ov(KeyTLSInsecure, "--insecure", "true"), ov(KeyNoKeepAlive, "--no-keepalive", "true"), ov(KeyHTTPVersion, "--http-version", "1.1")},
			func(s schemas.RunSpec) bool {
				return s.HTTPVersion == "1.1" && s.NoKeepAlive && s.TLS.Insecure && bytes.Equal(s.TLS.CAPEM, certPEM) && bytes.Equal(s.TLS.KeyPEM, keyPEM)
			}, ""},
		{"flag keeps alive", tlsPlan + "keepalive: false\n", []Override{ov(KeyNoKeepAlive, "LOADFORGE_NO_KEEPALIVE", "false")},
			func(s schemas.RunSpec) bool { return !s.NoKeepAlive }, ""},
		{"bad version", tlsPlan + "http_version: \"3\"\n", nil, nil, `p.yaml:11: http_version: want auto, 1.1 or 2, got "3"`},
		{"bad min", tlsPlan + "tls:\n  min_version: \"1.1\"\n", nil, nil, `p.yaml:12: tls.min_version: want 1.2 or 1.3, got "1.1"`},
		{"bad insecure", tlsPlan + "tls: {insecure: maybe}\n", nil, nil, `p.yaml:11: tls.insecure: want true or false`},
		{"unknown key", tlsPlan + "tls: {cafile: x}\n", nil, nil, `p.yaml:11: tls`},
		{"missing file", tlsPlan + "tls: {ca: nope.pem}\n", nil, nil, `p.yaml:11: tls.ca: open `},
		{"too large", tlsPlan + "tls: {ca: big.pem}\n", nil, nil, `p.yaml:11: tls.ca: big.pem is larger than 256 KiB`},
		{"key alone", tlsPlan, []Override{ov(KeyTLSKey, "--target-key", keyFile)}, nil, `--target-key: a client key needs its certificate too`},
		{"cert without its key", tlsPlan + "tls: {cert: cert.pem, key: cert.pem}\n", nil, nil, `p.yaml:11: tls.cert: cert.pem and cert.pem: `},
		{"no CA in it", tlsPlan + "tls: {ca: key.pem}\n", nil, nil, `p.yaml:11: tls.ca: key.pem holds no PEM certificate`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(tc.src), filepath.Join(dir, "p.yaml"))
			if err == nil {
				err = r.Apply(tc.overrides)
			}
			var p *Plan
			if err == nil {
				p, err = r.Build()
			}
			if err != nil {
				msg := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
				if tc.err == "" || !strings.HasPrefix(msg, tc.err) {
					t.Fatalf("error %q, want %q", msg, tc.err)
				}
				return
			}
			if tc.err != "" {
				t.Fatalf("built, want error %q", tc.err)
			}
			if !tc.check(p.Spec) {
				t.Errorf("spec %+v, tls %+v", p.Spec, p.Spec.TLS)
			}
		})
	}
}
