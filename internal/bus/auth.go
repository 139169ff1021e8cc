package bus

import (
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/loadforge/loadforge/schemas"
)

// A listening bus with credentials knows four kinds of client. Each presents
// its own credential and gets NATS permissions to match:
//
//   - the run's own stages (in-process connections with a secret that never
//     leaves the process): everything;
//   - workers (Token, or User and Password): publish only what a worker
//     publishes (join, hello, heartbeat, bye, metrics) and read loadforge.>;
//     the same credential serves taps that need no credential of their own;
//   - taps (TapToken): read loadforge.>, publish nothing;
//   - controllers (ControlToken): publish control commands, read loadforge.>
//     and their own replies.
//
// No credential but the stages' own may publish state, scale, spec, assign,
// snapshot or result.
const (
	RoleWorker  = "worker"
	RoleTap     = "tap"
	RoleControl = "control"
	roleStage   = "stage"
)

// ReadSubjects is what every outside client may subscribe to.
var ReadSubjects = []string{schemas.SubjectRoot + ".>"}

// WorkerPublishes are the subjects a worker credential may publish on.
var WorkerPublishes = []string{
	schemas.Subject("*", schemas.KindJoin),
	schemas.Subject("*", "worker.>"),
	schemas.Subject("*", schemas.KindMetrics) + ".>",
}

// ControlPublishes are the subjects a control credential may publish on.
var ControlPublishes = []string{schemas.Subject("*", schemas.KindControl)}

// Permissions returns the NATS permissions of a role (RoleWorker, RoleTap or
// RoleControl); nil for an unknown role. A standalone nats-server can be given
// the same sets in its configuration (see schemas/README.md).
func Permissions(role string) *server.Permissions {
	deny := &server.SubjectPermission{Deny: []string{">"}}
	switch role {
	case RoleWorker:
		return &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: WorkerPublishes},
			Subscribe: &server.SubjectPermission{Allow: ReadSubjects},
		}
	case RoleTap:
		return &server.Permissions{
			Publish:   deny,
			Subscribe: &server.SubjectPermission{Allow: ReadSubjects},
		}
	case RoleControl:
		return &server.Permissions{
			Publish: &server.SubjectPermission{Allow: ControlPublishes},
			// Requests get their replies on the requester's inbox.
			Subscribe: &server.SubjectPermission{Allow: append([]string{nats.InboxPrefix + ">"}, ReadSubjects...)},
		}
	}
	return nil
}

// TLSFiles are PEM files. On a listening bus, Cert and Key are what it
// presents and CA (optional) verifies client certificates; a client trusts
// the server by CA and presents Cert and Key when given.
type TLSFiles struct {
	Cert, Key, CA string
}

// Credentials are what a client presents to a NATS server.
type Credentials struct {
	Token          string
	User, Password string
	TLS            TLSFiles
}

// ErrCredentials marks settings of credentials that cannot work together
// (a usage error, not a runtime failure).
var ErrCredentials = errors.New("bus settings")

// hasCredential reports whether the worker credential (token or user and password) is set.
func (c Config) hasCredential() bool { return c.Token != "" || c.User != "" }

// Check refuses settings that cannot work, before anything starts. Its errors
// wrap ErrNoToken or ErrCredentials.
func (c Config) Check() error {
	if (c.User == "") != (c.Password == "") {
		return fmt.Errorf("%w: --user and --password go together", ErrCredentials)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", ErrCredentials)
	}
	if c.URL != "" {
		if c.Listen != "" {
			return fmt.Errorf("%w: --listen and --nats: the bus is either embedded (and may listen) or a NATS server; give one", ErrCredentials)
		}
		if c.TapToken != "" || c.ControlToken != "" {
			return fmt.Errorf("%w: --tap-token and --control-token configure the embedded bus; a NATS server has its own users", ErrCredentials)
		}
		return nil
	}
	if c.Listen == "" {
		return nil // a private bus: nobody else can connect, credentials do not matter
	}
	host, _, err := splitListen(c.Listen)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCredentials, err)
	}
	if !c.hasCredential() {
		if c.TapToken != "" || c.ControlToken != "" {
			return fmt.Errorf("%w: --tap-token and --control-token need the workers' credential too (--token, or --user and --password)", ErrCredentials)
		}
		if !isLoopback(host) {
			return ErrNoToken
		}
	}
	tokens := map[string]string{}
	for flag, tok := range map[string]string{"--token": c.Token, "--tap-token": c.TapToken, "--control-token": c.ControlToken} {
		if tok == "" {
			continue
		}
		if other, dup := tokens[tok]; dup {
			return fmt.Errorf("%w: %s and %s are the same; each role needs its own", ErrCredentials, min(flag, other), max(flag, other))
		}
		tokens[tok] = flag
	}
	if c.TLS.CA != "" && c.TLS.Cert == "" {
		return fmt.Errorf("%w: --tls-ca on a listening bus verifies client certificates; it needs --tls-cert and --tls-key", ErrCredentials)
	}
	return nil
}

// roleAuth maps each credential a client presents to its role's permissions.
type roleAuth struct {
	stage          string // the in-process stages' secret
	token          string
	user, password string
	tap, control   string
}

func (a *roleAuth) Check(c server.ClientAuthentication) bool {
	o := c.GetOpts()
	role := ""
	switch {
	case o.Username != "":
		if a.user != "" && same(o.Username, a.user) && same(o.Password, a.password) {
			role = RoleWorker
		}
	case o.Token != "":
		switch {
		case same(o.Token, a.stage):
			// The secret is only handed to in-process connections; refuse it elsewhere.
			if addr := c.RemoteAddress(); addr != nil && addr.Network() == "pipe" {
				role = roleStage
			}
		case a.token != "" && same(o.Token, a.token):
			role = RoleWorker
		case a.tap != "" && same(o.Token, a.tap):
			role = RoleTap
		case a.control != "" && same(o.Token, a.control):
			role = RoleControl
		}
	}
	if role == "" {
		return false
	}
	// The stages keep every right: nil permissions.
	c.RegisterUser(&server.User{Username: role, Permissions: Permissions(role)})
	return true
}

func same(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func randomSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make bus secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// serverTLS builds the listening server's TLS settings.
func serverTLS(f TLSFiles) (*tls.Config, error) {
	cfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: f.Cert, KeyFile: f.Key, CaFile: f.CA, Verify: f.CA != ""})
	if err != nil {
		return nil, fmt.Errorf("bus tls: %w", err)
	}
	return cfg, nil
}

// clientOptions turns credentials into nats.go options.
func (c Credentials) clientOptions() []nats.Option {
	var opts []nats.Option
	if c.Token != "" {
		opts = append(opts, nats.Token(c.Token))
	}
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(c.TLS.CA))
	}
	if c.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(c.TLS.Cert, c.TLS.Key))
	}
	return opts
}
