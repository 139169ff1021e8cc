package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPKI is a CA made for one test, with a server certificate for
// 127.0.0.1 and a client certificate, all as PEM files in dir.
type testPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loadforge test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p := testPKI{ca: write("ca.pem", "CERTIFICATE", caDER)}
	issue := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "EC PRIVATE KEY", keyDER)
	}
	p.serverCert, p.serverKey = issue("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = issue("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

// startNginxTLS starts nginx over TLS with HTTP/2 offered, logging each
// request's protocol, connection serial and request number on it; extra
// adds ssl_* directives.
func startNginxTLS(t *testing.T, p testPKI, extra string) *nginxServer {
	t.Helper()
	return startNginxWith(t, nginxOptions{
		listenParams: "ssl http2",
		tls:          "ssl_certificate " + p.serverCert + "; ssl_certificate_key " + p.serverKey + "; ssl_protocols TLSv1.2 TLSv1.3; " + extra,
		logFormat:    connLogFormat,
	})
}

// connLogFormat logs what tells how each request came.
const connLogFormat = "$server_protocol $connection $connection_requests $status"

// connLog is nginx's access log in connLogFormat.
type connLog struct {
	lines       int
	protocols   map[string]int
	connections map[string]int // requests per connection serial
	reused      int            // requests that were not their connection's first
	statuses    map[string]int
}

func (n *nginxServer) connLog(t *testing.T) connLog {
	t.Helper()
	data, err := os.ReadFile(n.accessLog)
	if err != nil {
		t.Fatal(err)
	}
	l := connLog{protocols: map[string]int{}, connections: map[string]int{}, statuses: map[string]int{}}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("access log line %q", line)
		}
		l.lines++
		l.protocols[f[0]]++
		l.connections[f[1]]++
		if f[2] != "1" {
			l.reused++
		}
		l.statuses[f[3]]++
	}
	return l
}

// Against nginx over TLS offering h2: auto and 2 speak HTTP/2, 1.1 speaks
// HTTP/1.1 with the fast client; each VU on a connection of its own, and
// the result counts what nginx logged.
func TestNginxTLSProtocols(t *testing.T) {
	p := newTestPKI(t)
	for _, c := range []struct{ version, protocol, client string }{
		{"", "HTTP/2.0", "net/http"},
		{"2", "HTTP/2.0", "net/http"},
		{"1.1", "HTTP/1.1", "fast"},
	} {
		t.Run("version="+c.version, func(t *testing.T) {
			ngx := startNginxTLS(t, p, "")
			out := filepath.Join(t.TempDir(), "r.json")
			const vus = 10
			args := []string{"run", "--url", ngx.URL + "/", "--vus", "10", "--duration", "2s", "--target-ca", p.ca, "--quiet", "--out", out}
			if c.version != "" {
				args = append(args, "--http-version", c.version)
			}
			if code, _, stderr := runLoadforge(t, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			r, _ := readResult(t, out)
			log := ngx.connLog(t)
			if r.Totals.Requests == 0 || r.Totals.Requests != uint64(log.lines) || r.Totals.Errors != 0 {
				t.Errorf("result counts %d requests (%d errors), nginx logged %d", r.Totals.Requests, r.Totals.Errors, log.lines)
			}
			if log.protocols[c.protocol] != log.lines || r.Protocol != c.protocol || r.HTTPClient != c.client ||
				len(r.Endpoints) != 1 || r.Endpoints[0].Protocol != c.protocol {
				t.Errorf("nginx saw %v; the result says protocol %q client %q, want %s with %s", log.protocols, r.Protocol, r.HTTPClient, c.protocol, c.client)
			}
			if tm := r.Totals.TimingsMs; len(log.connections) != vus || tm.NewConnections != vus || tm.TLSHandshaking.Max == 0 {
				t.Errorf("%d VUs: nginx saw %d connections; %d new connections, handshakes %+v", vus, len(log.connections), tm.NewConnections, tm.TLSHandshaking)
			}
		})
	}
}

// A certificate nobody trusts: every request fails as tls, nginx sees none,
// and the summary's error line says why and how to get past it. Trusting the
// CA, or skipping verification (here through the environment), works.
func TestNginxTLSTrust(t *testing.T) {
	p := newTestPKI(t)
	ngx := startNginxTLS(t, p, "")
	out := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runLoadforge(t, "run", "--url", ngx.URL+"/", "--vus", "2", "--duration", "1s", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r, _ := readResult(t, out)
	if r.Totals.Requests == 0 || r.Totals.ErrorsByKind["tls"] != r.Totals.Requests || ngx.logged(t) != 0 {
		t.Errorf("requests %d errors %v; nginx logged %d", r.Totals.Requests, r.Totals.ErrorsByKind, ngx.logged(t))
	}
	var errLine string
	for line := range strings.Lines(stdout) {
		if strings.Contains(line, "error kinds") {
			errLine = line
			break
		}
	}
	for _, want := range []string{"tls", "unknown authority", "--insecure", "--target-ca"} {
		if !strings.Contains(errLine, want) {
			t.Errorf("the summary's error line %q does not say %q", errLine, want)
		}
	}

	t.Setenv("LOADFORGE_INSECURE", "true")
	if code, _, stderr := runLoadforge(t, "run", "--url", ngx.URL+"/", "--vus", "2", "--duration", "1s", "--quiet", "--out", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	r, _ = readResult(t, out)
	if logged := ngx.logged(t); r.Totals.Requests == 0 || r.Totals.Errors != 0 || r.Totals.Requests != logged {
		t.Errorf("with LOADFORGE_INSECURE: requests %d errors %v; nginx logged %d", r.Totals.Requests, r.Totals.ErrorsByKind, logged)
	}
}

// nginx requiring a client certificate answers 400 without one, and
// answers requests that bring one (--target-cert, --target-key).
func TestNginxMutualTLS(t *testing.T) {
	p := newTestPKI(t)
	for _, withCert := range []bool{false, true} {
		t.Run(map[bool]string{false: "no cert", true: "cert"}[withCert], func(t *testing.T) {
			ngx := startNginxTLS(t, p, "ssl_verify_client on; ssl_client_certificate "+p.ca+";")
			out := filepath.Join(t.TempDir(), "r.json")
			args := []string{"run", "--url", ngx.URL + "/", "--vus", "2", "--duration", "1s", "--target-ca", p.ca, "--http-version", "1.1", "--quiet", "--out", out}
			if withCert {
				args = append(args, "--target-cert", p.clientCert, "--target-key", p.clientKey)
			}
			if code, _, stderr := runLoadforge(t, args...); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			r, _ := readResult(t, out)
			log := ngx.connLog(t)
			want := map[bool]string{false: "400", true: "200"}[withCert]
			if r.Totals.Requests == 0 || uint64(log.statuses[want]) != r.Totals.Requests || r.Totals.StatusCodes[want] != r.Totals.Requests {
				t.Errorf("statuses %v, nginx logged %v, want all %s", r.Totals.StatusCodes, log.statuses, want)
			}
		})
	}
}

// With --no-keepalive every request comes on a connection of its own,
// over http and https, and the result still counts what nginx logged; the
// breakdown times a connect (and handshake) for each.
func TestNginxNoKeepAlive(t *testing.T) {
	p := newTestPKI(t)
	for _, scheme := range []string{"http", "https"} {
		t.Run(scheme, func(t *testing.T) {
			var ngx *nginxServer
			if scheme == "https" {
				ngx = startNginxTLS(t, p, "")
			} else {
				ngx = startNginxWith(t, nginxOptions{logFormat: connLogFormat})
			}
			out := filepath.Join(t.TempDir(), "r.json")
			if code, _, stderr := runLoadforge(t, "run", "--url", ngx.URL+"/", "--vus", "4", "--duration", "1s",
				"--target-ca", p.ca, "--http-version", "1.1", "--no-keepalive", "--quiet", "--out", out); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			r, _ := readResult(t, out)
			log := ngx.connLog(t)
			if n := r.Totals.Requests; n == 0 || n != uint64(log.lines) || r.Totals.Errors != 0 || log.reused != 0 || len(log.connections) != log.lines {
				t.Errorf("result counts %d requests (%d errors); nginx logged %d on %d connections, %d reused", n, r.Totals.Errors, log.lines, len(log.connections), log.reused)
			}
			tm := r.Totals.TimingsMs
			if tm.NewConnections != r.Totals.Requests || (scheme == "https") != (tm.TLSHandshaking.Max > 0) {
				t.Errorf("%d requests: %d new connections, handshakes %+v", r.Totals.Requests, tm.NewConnections, tm.TLSHandshaking)
			}
		})
	}
}

// A remote worker gets the target's TLS settings, certificate files
// included, inside the run's spec: here the files are gone before it joins,
// and it still speaks mTLS to nginx.
func TestRemoteWorkerGetsTargetTLS(t *testing.T) {
	p := newTestPKI(t)
	ngx := startNginxTLS(t, p, "ssl_verify_client on; ssl_client_certificate "+p.ca+";")
	dir := t.TempDir()
	files := map[string]string{}
	for name, src := range map[string]string{"ca.pem": p.ca, "client.pem": p.clientCert, "client-key.pem": p.clientKey} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = filepath.Join(dir, name)
		if err := os.WriteFile(files[name], data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr := freeAddr(t)
	out := filepath.Join(t.TempDir(), "r.json")
	coord := startProc(t, "coordinator", binary, "run", "--url", ngx.URL+"/", "--vus", "4", "--duration", "2s",
		"--target-ca", files["ca.pem"], "--target-cert", files["client.pem"], "--target-key", files["client-key.pem"],
		"--listen", addr, "--token", "wrk-s3cret", "--workers", "1", "--workers-timeout", "40s", "--out", out, "--quiet")
	url := coord.waitLine(`bus listening on (\S+)`)[1]
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	startWorkerProc(t, "w1", "--nats", url, "--token", "wrk-s3cret")
	if code := coord.exit(60 * time.Second); code != 0 {
		t.Fatalf("coordinator exit %d:\n%s", code, coord)
	}
	r, _ := readResult(t, out)
	log := ngx.connLog(t)
	if r.Totals.Requests == 0 || r.Totals.Errors != 0 || uint64(log.statuses["200"]) != r.Totals.Requests || r.Protocol != "HTTP/2.0" {
		t.Errorf("requests %d errors %v protocol %q; nginx logged %v", r.Totals.Requests, r.Totals.ErrorsByKind, r.Protocol, log.statuses)
	}
}

// Bad connection settings exit 2 with one line naming the flag or field.
func TestBadConnectionSettingsExitTwo(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	plan := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(plan, []byte("base_url: https://127.0.0.1:1\nscenario:\n  tasks:\n    - request: {path: /}\nload: {vus: 1, duration: 1s}\ntls:\n  min_version: \"1.0\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := []string{"run", "--url", "https://127.0.0.1:1/", "--vus", "1", "--duration", "1s"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing CA", append(url, "--target-ca", filepath.Join(dir, "nope.pem")), "--target-ca"},
		{"key alone", append(url, "--target-key", p.clientKey), "--target-key"},
		{"cert with a wrong key", append(url, "--target-cert", p.clientCert, "--target-key", p.serverKey), "--target-cert"},
		{"bad version", append(url, "--http-version", "3"), "--http-version"},
		{"fast over HTTP/2", append(url, "--http-version", "2", "--http-client", "fast"), "--http-version"},
		{"bad min version in plan", []string{"validate", plan}, "p.yaml:7: tls.min_version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runLoadforge(t, tc.args...)
			lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
			if code != 2 || len(lines) != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and one line naming %q", code, stderr, tc.want)
			}
		})
	}
}
