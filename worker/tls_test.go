package worker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadforge/loadforge/schemas"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "loadforge test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue makes a certificate signed by ca: a server's for 127.0.0.1 and
// localhost, or a client's; notAfter in the past makes it expired.
func (ca *testCA) issue(t testing.TB, client bool, notAfter time.Time) (cert tls.Certificate, certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "loadforge test"},
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM, keyPEM
}

// tlsTarget is a TLS server that counts its requests by protocol and its
// connections.
type tlsTarget struct {
	*httptest.Server
	h1, h2 atomic.Int64
	conns  atomic.Int64
}

// newTLSServer starts a TLS server with a certificate of ca; h2 offers
// HTTP/2 by ALPN; configure may change its TLS configuration.
func newTLSServer(t *testing.T, ca *testCA, h2 bool, configure func(*tls.Config)) *tlsTarget {
	return newTLSServerHandler(t, ca, h2, configure, nil)
}

// newTLSServerHandler is newTLSServer whose requests handle answers.
func newTLSServerHandler(t *testing.T, ca *testCA, h2 bool, configure func(*tls.Config), handle http.HandlerFunc) *tlsTarget {
	t.Helper()
	cert, _, _ := ca.issue(t, false, time.Now().Add(time.Hour))
	tg := &tlsTarget{}
	tg.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			tg.h2.Add(1)
		} else {
			tg.h1.Add(1)
		}
		if r.URL.Path == "/reset" {
			panic(http.ErrAbortHandler) // HTTP/2: the stream is reset
		}
		if handle != nil {
			handle(w, r)
			return
		}
		_, _ = w.Write([]byte("hello"))
	}))
	tg.EnableHTTP2 = h2
	tg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if configure != nil {
		configure(tg.TLS)
	}
	tg.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			tg.conns.Add(1)
		}
	}
	tg.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are the point of some tests
	tg.StartTLS()
	t.Cleanup(tg.Close)
	return tg
}

func (tg *tlsTarget) requests() int64 { return tg.h1.Load() + tg.h2.Load() }

// viaSums is what the events say of how the requests went.
type viaSums struct {
	requests, errors   uint64
	kinds              map[string]uint64
	protocols, clients map[string]bool
	tlsError           string
	handshakes         int64 // requests with a TLS handshake time
	connects           int64 // requests with a connecting time
	waits              int64 // requests with a waiting time
}

func sumVia(evs []schemas.MetricEvent) viaSums {
	s := viaSums{kinds: map[string]uint64{}, protocols: map[string]bool{}, clients: map[string]bool{}}
	for _, ev := range evs {
		for _, e := range ev.Endpoints {
			s.requests += e.Requests
			s.errors += e.Errors
			for k, n := range e.ErrorsByKind {
				s.kinds[k] += n
			}
			if e.Protocol != "" {
				s.protocols[e.Protocol] = true
			}
			s.clients[e.HTTPClient] = true
			if s.tlsError == "" {
				s.tlsError = e.TLSError
			}
			for _, p := range e.TLSHandshakingUs {
				s.handshakes += p[1]
			}
			for _, p := range e.ConnectingUs {
				s.connects += p[1]
			}
			for _, p := range e.WaitingUs {
				s.waits += p[1]
			}
		}
	}
	return s
}

// runVUs runs cfg with vus VUs until the server has answered at least n
// requests, then stops and returns the events' sums.
func runVUs(t *testing.T, cfg Config, vus int, served func() int64, n int64) viaSums {
	t.Helper()
	h := startWorker(t, cfg)
	h.running()
	h.scale(vus)
	h.waitUntil("traffic", func() bool { return served() >= n || sumEvents(h.events()).errors >= uint64(n) })
	h.stop(5*time.Second, false)
	if err := h.wait(); err != nil {
		t.Fatal(err)
	}
	return sumVia(h.events())
}

// The fast client speaks HTTP/1.1 over TLS: one kept-alive connection per
// VU (and the one that asked the server for h2, which it does not offer),
// every request counted once, the handshake timed on each connection's first
// request.
func TestFastClientOverTLS(t *testing.T) {
	ca := newTestCA(t)
	srv := newTLSServer(t, ca, false, nil)
	cfg := baseConfig(task("t", 1, srv.URL+"/"))
	cfg.Spec.TLS = &schemas.TargetTLS{CAPEM: ca.pem}
	const vus = 3
	s := runVUs(t, cfg, vus, srv.requests, 300)
	if s.errors != 0 || s.requests != uint64(srv.requests()) || srv.h2.Load() != 0 {
		t.Errorf("requests %d errors %v; the server answered %d (%d over HTTP/2)", s.requests, s.kinds, srv.requests(), srv.h2.Load())
	}
	if !s.clients[schemas.HTTPClientFast] || len(s.clients) != 1 || !s.protocols[schemas.ProtocolHTTP11] || len(s.protocols) != 1 {
		t.Errorf("clients %v protocols %v", s.clients, s.protocols)
	}
	if conns := srv.conns.Load(); conns != vus+1 || s.handshakes != vus || s.connects != vus {
		t.Errorf("%d VUs: %d connections, %d handshakes timed, %d connects timed", vus, conns, s.handshakes, s.connects)
	}
}

// A reconnect resumes the TLS session: the fast client shares one session
// cache over its connections.
func TestFastClientResumesTLSSessions(t *testing.T) {
	ca := newTestCA(t)
	var resumed, full atomic.Int64
	srv := newTLSServerHandler(t, ca, false, nil, func(w http.ResponseWriter, r *http.Request) {
		if r.TLS.DidResume {
			resumed.Add(1)
		} else {
			full.Add(1)
		}
		w.Header().Set("Connection", "close") // every request on a connection of its own
	})
	cfg := baseConfig(task("t", 1, srv.URL+"/"))
	cfg.Spec.TLS = &schemas.TargetTLS{CAPEM: ca.pem}
	s := runVUs(t, cfg, 1, func() int64 { return resumed.Load() + full.Load() }, 20)
	if s.errors != 0 || full.Load() == 0 || resumed.Load() < full.Load() {
		t.Errorf("errors %v; %d full handshakes, %d resumed", s.kinds, full.Load(), resumed.Load())
	}
}

// http_version: 2 and auto speak HTTP/2 to a server that offers it, each VU
// on its own connection; 1.1 speaks HTTP/1.1 with the fast client.
func TestHTTPVersions(t *testing.T) {
	ca := newTestCA(t)
	for _, c := range []struct {
		version, client string
		h2              bool
	}{
		{schemas.HTTPVersion2, "", true},
		{"", "", true},
		{schemas.HTTPVersionAuto, schemas.HTTPClientNetHTTP, true},
		{schemas.HTTPVersion11, "", false},
		{schemas.HTTPVersionAuto, schemas.HTTPClientFast, false},
	} {
		t.Run(c.version+"/"+c.client, func(t *testing.T) {
			srv := newTLSServer(t, ca, true, nil)
			cfg := baseConfig(task("t", 1, srv.URL+"/"))
			cfg.Spec.TLS = &schemas.TargetTLS{CAPEM: ca.pem}
			cfg.Spec.HTTPVersion = c.version
			cfg.Spec.HTTPClient = c.client
			const vus = 3
			s := runVUs(t, cfg, vus, srv.requests, 200)
			want, wantClient, other := schemas.ProtocolHTTP11, schemas.HTTPClientFast, srv.h2.Load()
			served := srv.h1.Load()
			if c.h2 {
				want, wantClient, other, served = schemas.ProtocolHTTP2, schemas.HTTPClientNetHTTP, srv.h1.Load(), srv.h2.Load()
			}
			if s.errors != 0 || s.requests != uint64(served) || other != 0 {
				t.Errorf("requests %d errors %v; the server answered %d over %s, %d over the other", s.requests, s.kinds, served, want, other)
			}
			if !s.protocols[want] || len(s.protocols) != 1 || !s.clients[wantClient] || len(s.clients) != 1 {
				t.Errorf("protocols %v clients %v, want %s with %s", s.protocols, s.clients, want, wantClient)
			}
			// Auto asks the server once which protocol it speaks: one more connection.
			wantConns := int64(vus)
			if c.h2 && c.version != schemas.HTTPVersion2 {
				wantConns++
			}
			if conns := srv.conns.Load(); conns != wantConns || s.handshakes != vus || s.waits != int64(s.requests) {
				t.Errorf("%d VUs: %d connections (want %d), %d handshakes timed; %d of %d requests' waiting timed",
					vus, conns, wantConns, s.handshakes, s.waits, s.requests)
			}
		})
	}
}

// http_version 2 over plain http is h2c with prior knowledge.
func TestH2C(t *testing.T) {
	var h1, h2 atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		} else {
			h1.Add(1)
		}
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := baseConfig(task("t", 1, srv.URL+"/"))
	cfg.Spec.HTTPVersion = schemas.HTTPVersion2
	s := runVUs(t, cfg, 2, h2.Load, 100)
	if s.errors != 0 || s.requests != uint64(h2.Load()) || h1.Load() != 0 || !s.protocols[schemas.ProtocolHTTP2] {
		t.Errorf("requests %d errors %v protocols %v; the server answered %d over HTTP/2, %d over HTTP/1.1", s.requests, s.kinds, s.protocols, h2.Load(), h1.Load())
	}
}

// A stream the server resets is an error of its own kind, counted once.
func TestHTTP2StreamReset(t *testing.T) {
	ca := newTestCA(t)
	srv := newTLSServer(t, ca, true, nil)
	cfg := baseConfig(task("t", 1, srv.URL+"/reset"))
	cfg.Spec.TLS = &schemas.TargetTLS{CAPEM: ca.pem}
	cfg.Spec.HTTPVersion = schemas.HTTPVersion2
	s := runVUs(t, cfg, 2, srv.requests, 50)
	if s.requests != uint64(srv.h2.Load()) || s.errors != s.requests || s.kinds[schemas.ErrStreamReset] != s.requests {
		t.Errorf("requests %d errors %v; the server reset %d streams", s.requests, s.kinds, srv.h2.Load())
	}
}

// A certificate the client does not trust fails every request with kind
// tls, and the events say why; --insecure or the CA make it pass.
func TestTargetTLSTrust(t *testing.T) {
	ca := newTestCA(t)
	expired := newTestCA(t)
	expiredCert, _, _ := expired.issue(t, false, time.Now().Add(-time.Minute))
	for _, c := range []struct {
		name    string
		tls     *schemas.TargetTLS
		expired bool
		why     string // in the TLS error; "" for no errors
	}{
		{"untrusted", nil, false, "unknown authority"},
		{"insecure", &schemas.TargetTLS{Insecure: true}, false, ""},
		{"ca", &schemas.TargetTLS{CAPEM: ca.pem}, false, ""},
		{"wrong name", &schemas.TargetTLS{CAPEM: ca.pem, ServerName: "elsewhere.example"}, false, "does not match"},
		{"expired", &schemas.TargetTLS{CAPEM: expired.pem}, true, "expired"},
		{"min 1.3 against 1.2", &schemas.TargetTLS{CAPEM: ca.pem, MinVersion: "1.3"}, false, "protocol version"},
	} {
		for _, client := range []string{schemas.HTTPClientAuto, schemas.HTTPClientNetHTTP} {
			t.Run(c.name+"/"+client, func(t *testing.T) {
				srv := newTLSServer(t, ca, false, func(cfg *tls.Config) {
					if c.expired {
						cfg.Certificates = []tls.Certificate{expiredCert}
					}
					if strings.HasPrefix(c.name, "min") {
						cfg.MaxVersion = tls.VersionTLS12
					}
				})
				cfg := baseConfig(task("t", 1, srv.URL+"/"))
				cfg.Spec.TLS = c.tls
				cfg.Spec.HTTPClient = client
				s := runVUs(t, cfg, 1, srv.requests, 5)
				if c.why == "" {
					if s.errors != 0 || s.requests != uint64(srv.requests()) {
						t.Errorf("requests %d errors %v; the server answered %d", s.requests, s.kinds, srv.requests())
					}
					return
				}
				if s.requests == 0 || s.kinds[schemas.ErrTLS] != s.requests || srv.requests() != 0 {
					t.Errorf("requests %d errors %v; the server answered %d", s.requests, s.kinds, srv.requests())
				}
				if !strings.Contains(s.tlsError, c.why) {
					t.Errorf("TLS error %q does not say %q", s.tlsError, c.why)
				}
				if c.why == "unknown authority" && (!strings.Contains(s.tlsError, "--insecure") || !strings.Contains(s.tlsError, "--target-ca")) {
					t.Errorf("TLS error %q names neither way out", s.tlsError)
				}
			})
		}
	}
}

// A server that requires a client certificate rejects the requests without
// one and answers those with one (mTLS), over both protocols.
func TestTargetMutualTLS(t *testing.T) {
	ca := newTestCA(t)
	_, certPEM, keyPEM := ca.issue(t, true, time.Now().Add(time.Hour))
	var verified atomic.Int64
	for _, version := range []string{schemas.HTTPVersion11, schemas.HTTPVersion2} {
		for _, withCert := range []bool{false, true} {
			t.Run(version+map[bool]string{false: "/no cert", true: "/cert"}[withCert], func(t *testing.T) {
				srv := newTLSServer(t, ca, true, func(cfg *tls.Config) {
					cfg.ClientAuth = tls.RequireAndVerifyClientCert
					cfg.ClientCAs = x509.NewCertPool()
					cfg.ClientCAs.AddCert(ca.cert)
					cfg.VerifyConnection = func(cs tls.ConnectionState) error {
						if len(cs.PeerCertificates) > 0 {
							verified.Add(1)
						}
						return nil
					}
				})
				cfg := baseConfig(task("t", 1, srv.URL+"/"))
				cfg.Spec.TLS = &schemas.TargetTLS{CAPEM: ca.pem}
				if withCert {
					cfg.Spec.TLS.CertPEM, cfg.Spec.TLS.KeyPEM = certPEM, keyPEM
				}
				cfg.Spec.HTTPVersion = version
				s := runVUs(t, cfg, 1, srv.requests, 5)
				switch {
				case withCert && (s.errors != 0 || s.requests != uint64(srv.requests())):
					t.Errorf("with a certificate: requests %d errors %v; the server answered %d", s.requests, s.kinds, srv.requests())
				case !withCert && (s.requests == 0 || srv.requests() != 0 || s.errors != s.requests):
					t.Errorf("without a certificate: requests %d errors %v; the server answered %d", s.requests, s.kinds, srv.requests())
				}
			})
		}
	}
	if verified.Load() == 0 {
		t.Error("the server never saw a client certificate")
	}
}

// Without keep-alive every request opens its own connection and TLS
// session, and the breakdown times each.
func TestNoKeepAlive(t *testing.T) {
	ca := newTestCA(t)
	for _, c := range []struct{ client, version string }{
		{schemas.HTTPClientAuto, schemas.HTTPVersion11},
		{schemas.HTTPClientNetHTTP, schemas.HTTPVersion11},
		{schemas.HTTPClientAuto, schemas.HTTPVersion2},
	} {
		t.Run(c.client+"/"+c.version, func(t *testing.T) {
			srv := newTLSServer(t, ca, true, nil)
			cfg := baseConfig(task("t", 1, srv.URL+"/"))
			cfg.Spec.TLS = &schemas.TargetTLS{CAPEM: ca.pem}
			cfg.Spec.HTTPClient = c.client
			cfg.Spec.HTTPVersion = c.version
			cfg.Spec.NoKeepAlive = true
			s := runVUs(t, cfg, 2, srv.requests, 40)
			served := srv.requests()
			if s.errors != 0 || s.requests != uint64(served) {
				t.Errorf("requests %d errors %v; the server answered %d", s.requests, s.kinds, served)
			}
			if conns := srv.conns.Load(); conns != served || s.handshakes != served || s.connects != served {
				t.Errorf("%d requests on %d connections; %d handshakes and %d connects timed", served, conns, s.handshakes, s.connects)
			}
		})
	}
}

// Bad TLS options are refused when the worker is made.
func TestTargetTLSOptionsRefused(t *testing.T) {
	ca := newTestCA(t)
	_, certPEM, keyPEM := ca.issue(t, true, time.Now().Add(time.Hour))
	conn := testConn(t)
	for name, opts := range map[string]*schemas.TargetTLS{
		"min version": {MinVersion: "1.1"},
		"not a CA":    {CAPEM: []byte("not PEM")},
		"cert alone":  {CertPEM: certPEM},
		"key alone":   {KeyPEM: keyPEM},
		"mismatched":  {CertPEM: certPEM, KeyPEM: []byte("-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END EC PRIVATE KEY-----\n")},
	} {
		cfg := baseConfig(task("t", 1, "https://127.0.0.1:1/"))
		cfg.Spec.TLS = opts
		if _, err := New(cfg, conn); err == nil || !strings.Contains(err.Error(), "tls") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
