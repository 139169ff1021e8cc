// Package bus embeds a NATS server and gives each loadforge stage its own
// client connection with typed msgpack publish and subscribe.
package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/loadforge/loadforge/schemas"
)

// Config says which bus to use. The zero value embeds a private, non-listening server.
type Config struct {
	// URL of an existing NATS server or cluster; empty embeds one.
	URL string
	// Listen (HOST:PORT) lets remote workers and consumers reach the embedded server.
	Listen string
	// Token is the credential clients must present to a listening or remote server.
	// On a listening bus it is the workers' credential (see Permissions).
	Token string
	// User and Password: a user/password pair instead of (or besides) Token, with the same role.
	User, Password string
	// TapToken (listening bus only): a read-only credential for taps.
	TapToken string
	// ControlToken (listening bus only): the credential that may publish control commands.
	ControlToken string
	// TLS of a listening bus (its certificate; a CA to require client certificates),
	// or of the connections to a remote server (the CA to trust; a client certificate).
	TLS TLSFiles
}

// ErrNoToken is returned when asked to listen beyond loopback without a credential.
var ErrNoToken = errors.New("--token (or --user and --password) is required to --listen on a non-loopback address")

// Bus is an embedded NATS server (or a remote one) that hands out connections.
type Bus struct {
	cfg Config
	srv *server.Server // nil when the bus is remote
	// stageSecret is what in-process connections present when the bus checks credentials.
	stageSecret string

	mu     sync.Mutex
	conns  []*Conn
	closed bool
}

// Open starts the embedded server (unless cfg.URL names a remote one).
func Open(cfg Config) (*Bus, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	b := &Bus{cfg: cfg}
	if cfg.URL != "" {
		return b, nil
	}
	opts := &server.Options{
		DontListen: cfg.Listen == "",
		NoSigs:     true, // otherwise SIGINT makes the embedded server exit the process
		NoLog:      true,
		MaxPayload: 8 << 20,
		// Our own stages use in-process connections; the server writes to them
		// without the network's deadline worries, but remote clients may be slow.
		WriteDeadline: 10 * time.Second,
	}
	if cfg.Listen != "" {
		host, port, err := splitListen(cfg.Listen)
		if err != nil {
			return nil, err
		}
		if port == 0 {
			port = server.RANDOM_PORT // the server reads 0 as its default, 4222
		}
		opts.Host, opts.Port = host, port
		if cfg.hasCredential() {
			secret, err := randomSecret()
			if err != nil {
				return nil, err
			}
			b.stageSecret = secret
			opts.CustomClientAuthentication = &roleAuth{
				stage: secret, token: cfg.Token, user: cfg.User, password: cfg.Password,
				tap: cfg.TapToken, control: cfg.ControlToken,
			}
		}
		if cfg.TLS.Cert != "" {
			tc, err := serverTLS(cfg.TLS)
			if err != nil {
				return nil, err
			}
			opts.TLSConfig, opts.TLS, opts.TLSVerify = tc, true, cfg.TLS.CA != ""
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start embedded nats server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(5 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("start embedded nats server: not ready after 5s")
	}
	b.srv = srv
	return b, nil
}

func splitListen(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("--listen %q: want HOST:PORT: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("--listen %q: bad port %q", addr, p)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ClientURL is the URL remote clients use to reach a listening embedded server.
func (b *Bus) ClientURL() string {
	if b.srv == nil {
		return b.cfg.URL
	}
	if b.cfg.Listen == "" {
		return ""
	}
	return b.srv.ClientURL()
}

// Connect opens a new client connection named name (one per stage, so that a
// slow stage cannot stall another's reads).
func (b *Bus) Connect(name string) (*Conn, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("bus closed")
	}
	var (
		c   *Conn
		err error
	)
	if b.srv != nil {
		c, err = DialWith("", name, Credentials{Token: b.stageSecret}, nats.InProcessServer(b.srv))
	} else {
		c, err = DialWith(b.cfg.URL, name, Credentials{Token: b.cfg.Token, User: b.cfg.User, Password: b.cfg.Password, TLS: b.cfg.TLS})
	}
	if err != nil {
		return nil, err
	}
	b.conns = append(b.conns, c)
	return c, nil
}

// Close drains every connection it handed out, then stops the embedded server.
// It is idempotent.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	conns := b.conns
	b.mu.Unlock()
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.Close(ctx))
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
	}
	return errors.Join(errs...)
}

// Conn is one client connection with msgpack publish and subscribe.
type Conn struct {
	nc        *nats.Conn
	encMu     sync.Mutex
	enc       schemas.Encoder // Publish's; the client copies what it publishes
	malformed atomic.Uint64
	closeOnce sync.Once
	closeErr  error
}

// Dial connects to a NATS server at url (a remote worker or tap uses this).
func Dial(url, token, name string) (*Conn, error) {
	return DialWith(url, name, Credentials{Token: token})
}

// DialWith connects to a NATS server at url with cred. The connection
// reconnects for ever: a worker outlives the coordinator's bus restarting.
func DialWith(url, name string, cred Credentials, extra ...nats.Option) (*Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.PingInterval(5 * time.Second),
	}
	opts = append(opts, cred.clientOptions()...)
	opts = append(opts, extra...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", url, err)
	}
	return &Conn{nc: nc}, nil
}

// NATS exposes the underlying connection for what this package does not wrap
// (tests and tools; the stages use only this package's surface).
func (c *Conn) NATS() *nats.Conn { return c.nc }

// Connected reports whether the connection is up (not reconnecting or closed).
func (c *Conn) Connected() bool { return c.nc.IsConnected() }

// Subscription is one subscription on the bus; Unsubscribe ends it.
type Subscription struct{ sub *nats.Subscription }

// Unsubscribe ends the subscription: no callback starts after it returns.
// It fails only when the connection is already closed.
func (s *Subscription) Unsubscribe() error { return s.sub.Unsubscribe() }

// Msg is a raw message as received, with the subject a requester waits for
// its answer on (empty for a plain publish).
type Msg struct {
	Subject string
	Data    []byte
	Reply   string
}

// PublishRaw publishes data as it is (an answer to a request, or a message
// another encoding than msgpack).
func (c *Conn) PublishRaw(subject string, data []byte) error {
	if err := c.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}

// Publish encodes m as msgpack and publishes it on subject.
func (c *Conn) Publish(subject string, m any) error {
	c.encMu.Lock()
	defer c.encMu.Unlock()
	data, err := c.enc.Encode(m)
	if err != nil {
		return fmt.Errorf("encode for %s: %w", subject, err)
	}
	if err := c.nc.Publish(subject, data); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}

// Flush waits until the server has processed everything published so far.
// Without a deadline on ctx it gives up after 10 s.
func (c *Conn) Flush(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	if err := c.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// Malformed is how many received messages failed to decode and were dropped.
func (c *Conn) Malformed() uint64 { return c.malformed.Load() }

// Subscribe decodes every message on subject into a fresh T and calls fn with it,
// one message at a time. Messages that do not decode are counted and dropped.
func Subscribe[T any, PT interface {
	*T
	schemas.Versioned
}](c *Conn, subject string, fn func(subject string, m PT)) (*Subscription, error) {
	sub, err := c.nc.Subscribe(subject, func(msg *nats.Msg) {
		m := PT(new(T))
		if err := schemas.Decode(msg.Data, m); err != nil {
			c.malformed.Add(1)
			return
		}
		fn(msg.Subject, m)
	})
	return queueing(subject, sub, err)
}

// queueing raises a new subscription's limits: a collector under a burst
// must queue rather than drop.
func queueing(subject string, sub *nats.Subscription, err error) (*Subscription, error) {
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	if err := sub.SetPendingLimits(-1, 512<<20); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribe %s: %w", subject, err)
	}
	return &Subscription{sub: sub}, nil
}

// SubscribeRaw calls fn with every raw message on subject (taps use it).
func (c *Conn) SubscribeRaw(subject string, fn func(subject string, data []byte)) (*Subscription, error) {
	sub, err := c.nc.Subscribe(subject, func(msg *nats.Msg) { fn(msg.Subject, msg.Data) })
	return queueing(subject, sub, err)
}

// SubscribeMsgs calls fn with every message on subject, its reply subject
// included, one at a time (a stage that answers requests uses it).
func (c *Conn) SubscribeMsgs(subject string, fn func(Msg)) (*Subscription, error) {
	sub, err := c.nc.Subscribe(subject, func(msg *nats.Msg) {
		fn(Msg{Subject: msg.Subject, Data: msg.Data, Reply: msg.Reply})
	})
	return queueing(subject, sub, err)
}

// Close drains the connection: pending messages are delivered to subscribers
// and published ones flushed before it closes. It is idempotent.
func (c *Conn) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		closed := make(chan struct{})
		c.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
		if err := c.nc.Drain(); err != nil {
			c.nc.Close()
			if !errors.Is(err, nats.ErrConnectionClosed) {
				c.closeErr = err
			}
			return
		}
		select {
		case <-closed:
		case <-ctx.Done():
			c.nc.Close()
			c.closeErr = ctx.Err()
		}
	})
	return c.closeErr
}
