package bus

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/loadforge/loadforge/schemas"
)

// roleBus is a listening bus with every kind of credential.
func roleBus(t *testing.T) *Bus {
	t.Helper()
	return openBus(t, Config{Listen: "127.0.0.1:0", Token: "worker-tok", User: "wu", Password: "wp",
		TapToken: "tap-tok", ControlToken: "control-tok"})
}

// client connects as an outside program and reports its asynchronous errors
// (permission violations) on the returned channel.
func client(t *testing.T, url string, opts ...nats.Option) (*nats.Conn, <-chan error) {
	t.Helper()
	errs := make(chan error, 64)
	opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc, errs
}

// watch subscribes a stage connection to every subject of run r and returns
// the subjects it receives.
func watch(t *testing.T, b *Bus) <-chan string {
	t.Helper()
	stage := connect(t, b, "stage")
	got := make(chan string, 64)
	if _, err := stage.SubscribeRaw("loadforge.r.>", func(subject string, _ []byte) { got <- subject }); err != nil {
		t.Fatal(err)
	}
	if err := stage.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return got
}

func next(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("nothing arrived within 10 s")
	}
	return ""
}

func TestCredentialsAreChecked(t *testing.T) {
	b := roleBus(t)
	url := b.ClientURL()
	refused := map[string][]nats.Option{
		"no credential":  nil,
		"wrong token":    {nats.Token("nope")},
		"wrong password": {nats.UserInfo("wu", "nope")},
		"unknown user":   {nats.UserInfo("nobody", "wp")},
		"stage secret":   {nats.Token(b.stageSecret)}, // only in-process connections may use it
	}
	for name, opts := range refused {
		if nc, err := nats.Connect(url, opts...); err == nil {
			nc.Close()
			t.Errorf("%s: connected", name)
		} else if !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: err %v, want an authorization error", name, err)
		}
	}
	for name, opts := range map[string][]nats.Option{
		"worker token": {nats.Token("worker-tok")}, "user and password": {nats.UserInfo("wu", "wp")},
		"tap token": {nats.Token("tap-tok")}, "control token": {nats.Token("control-tok")},
	} {
		nc, err := nats.Connect(url, opts...)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		nc.Close()
	}
}

// A publisher's messages arrive in order: when its allowed sentinel arrives,
// anything it published before that got through would have arrived first.
func checkPublishes(t *testing.T, b *Bus, role string, opts []nats.Option, allowed, denied []string) {
	t.Helper()
	got := watch(t, b)
	nc, errs := client(t, b.ClientURL(), opts...)
	for _, s := range denied {
		if err := nc.Publish(s, []byte{0x80}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range allowed {
		if err := nc.Publish(s, []byte{0x80}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range allowed {
		if s := next(t, got); s != want {
			t.Errorf("%s: received %s, want %s (a denied subject got through?)", role, s, want)
		}
	}
	for range denied {
		select {
		case err := <-errs:
			if !errors.Is(err, nats.ErrPermissionViolation) {
				t.Errorf("%s: async error %v, want a permission violation", role, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no permission violation reported", role)
		}
	}
}

func TestWorkerCredentialPublishesOnlyWhatAWorkerPublishes(t *testing.T) {
	b := roleBus(t)
	allowed := []string{
		schemas.Subject("r", schemas.KindJoin), schemas.Subject("r", schemas.KindHello),
		schemas.Subject("r", schemas.KindHeartbeat), schemas.Subject("r", schemas.KindBye),
		schemas.MetricsSubject("r", "w1"),
	}
	denied := []string{
		schemas.Subject("r", schemas.KindScale), schemas.Subject("r", schemas.KindState),
		schemas.Subject("r", schemas.KindSpec), schemas.Subject("r", schemas.KindAssign),
		schemas.Subject("r", schemas.KindControl), schemas.Subject("r", schemas.KindResult),
		schemas.Subject("r", schemas.KindSnapshot),
	}
	checkPublishes(t, b, "worker token", []nats.Option{nats.Token("worker-tok")}, allowed, denied)
	checkPublishes(t, b, "worker user", []nats.Option{nats.UserInfo("wu", "wp")}, allowed, denied)
}

func TestControlCredentialPublishesOnlyControl(t *testing.T) {
	b := roleBus(t)
	checkPublishes(t, b, "control", []nats.Option{nats.Token("control-tok")},
		[]string{schemas.Subject("r", schemas.KindControl)},
		[]string{schemas.Subject("r", schemas.KindScale), schemas.MetricsSubject("r", "w"), schemas.Subject("r", schemas.KindState)})
}

func TestTapCredentialReadsButCannotPublish(t *testing.T) {
	b := roleBus(t)
	got := watch(t, b)
	tap, errs := client(t, b.ClientURL(), nats.Token("tap-tok"))
	tapped := make(chan string, 8)
	if _, err := tap.Subscribe("loadforge.>", func(m *nats.Msg) { tapped <- m.Subject }); err != nil {
		t.Fatal(err)
	}
	if err := tap.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := tap.Publish(schemas.MetricsSubject("r", "w"), []byte{0x80}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("async error %v, want a permission violation", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a tap published without a permission violation")
	}
	// The stages still publish, and the tap reads it.
	stage := connect(t, b, "session")
	if err := stage.Publish(schemas.Subject("r", schemas.KindSnapshot), &schemas.Snapshot{SchemaVersion: 1, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if s := next(t, tapped); s != schemas.Subject("r", schemas.KindSnapshot) {
		t.Errorf("tap received %s", s)
	}
	if s := next(t, got); s != schemas.Subject("r", schemas.KindSnapshot) {
		t.Errorf("the stages received %s first: the tap's publish got through", s)
	}
	// Subscribing beyond loadforge.> is refused.
	if _, err := tap.Subscribe("_INBOX.>", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("async error %v, want a permission violation", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a tap subscribed beyond loadforge.> without a permission violation")
	}
}

func TestCheckRefusesSettingsThatCannotWork(t *testing.T) {
	bad := map[string]Config{
		"beyond loopback, no credential": {Listen: "0.0.0.0:0"},
		"empty host, no credential":      {Listen: ":0"},
		"user without password":          {Listen: "127.0.0.1:0", User: "u"},
		"password without user":          {Listen: "127.0.0.1:0", Password: "p"},
		"tap token alone":                {Listen: "127.0.0.1:0", TapToken: "t"},
		"same token twice":               {Listen: "127.0.0.1:0", Token: "x", ControlToken: "x"},
		"cert without key":               {Listen: "127.0.0.1:0", Token: "x", TLS: TLSFiles{Cert: "c.pem"}},
		"client CA without cert":         {Listen: "127.0.0.1:0", Token: "x", TLS: TLSFiles{CA: "ca.pem"}},
		"listen and nats":                {Listen: "127.0.0.1:0", URL: "nats://127.0.0.1:4222"},
		"role tokens on a nats server":   {URL: "nats://127.0.0.1:4222", Token: "x", ControlToken: "y"},
		"bad listen address":             {Listen: "nonsense"},
	}
	for name, cfg := range bad {
		err := cfg.Check()
		if err == nil || !(errors.Is(err, ErrCredentials) || errors.Is(err, ErrNoToken)) {
			t.Errorf("%s: err %v", name, err)
		}
		if _, err := Open(cfg); err == nil && cfg.URL == "" {
			t.Errorf("%s: Open accepted it", name)
		}
	}
	good := map[string]Config{
		"private":                    {},
		"loopback without a token":   {Listen: "127.0.0.1:0"},
		"beyond loopback with token": {Listen: "0.0.0.0:0", Token: "x"},
		"beyond loopback with user":  {Listen: "0.0.0.0:0", User: "u", Password: "p"},
		"nats server with user":      {URL: "nats://127.0.0.1:4222", User: "u", Password: "p"},
	}
	for name, cfg := range good {
		if err := cfg.Check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// writeCerts writes a CA, a server certificate for 127.0.0.1 and a client
// certificate, all signed by the CA, as PEM files in dir.
func writeCerts(t *testing.T, dir string) (ca, serverCert, serverKey, clientCert, clientKey string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loadforge test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, kind string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
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
	ca = write("ca.pem", "CERTIFICATE", caDER)
	serverCert, serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	clientCert, clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return
}

func TestTLSBus(t *testing.T) {
	ca, cert, key, clientCert, clientKey := writeCerts(t, t.TempDir())
	b := openBus(t, Config{Listen: "127.0.0.1:0", Token: "tok", TLS: TLSFiles{Cert: cert, Key: key}})
	url := b.ClientURL()
	if !strings.HasPrefix(url, "tls://") {
		t.Errorf("client URL %s, want tls://", url)
	}
	if nc, err := nats.Connect(url, nats.Token("tok")); err == nil {
		nc.Close()
		t.Error("connected without trusting the server's CA")
	}
	c, err := DialWith(url, "outside", Credentials{Token: "tok", TLS: TLSFiles{CA: ca}})
	if err != nil {
		t.Fatalf("dial with the CA: %v", err)
	}
	if !c.NATS().TLSRequired() {
		t.Error("connection is not TLS")
	}
	c.Close(context.Background())
	// The stages' in-process connections need no certificate.
	connect(t, b, "stage")

	// With a CA of its own, the bus requires client certificates.
	mb := openBus(t, Config{Listen: "127.0.0.1:0", Token: "tok", TLS: TLSFiles{Cert: cert, Key: key, CA: ca}})
	if nc, err := nats.Connect(mb.ClientURL(), nats.Token("tok"), nats.RootCAs(ca)); err == nil {
		nc.Close()
		t.Error("connected without a client certificate")
	}
	mc, err := DialWith(mb.ClientURL(), "outside", Credentials{Token: "tok", TLS: TLSFiles{CA: ca, Cert: clientCert, Key: clientKey}})
	if err != nil {
		t.Fatalf("dial with a client certificate: %v", err)
	}
	mc.Close(context.Background())
}
