package adminui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Mode says how much the Admin UI is told (the npm package's mode option).
type Mode int

const (
	// Development sends the UI every socket, room change and event as it
	// happens, and the whole list of sockets as it connects, besides the
	// periodic server stats. Each event a client sends or receives is
	// then also sent to every connected Admin UI: it suits development
	// and small deployments.
	Development Mode = iota
	// Production sends only the periodic server stats, with their
	// counts of clients and of connections and disconnections per
	// second: the UI shows the dashboard and the servers, but no socket,
	// room or event.
	Production
)

// String returns the mode's name in the npm package, "development" or
// "production".
func (m Mode) String() string {
	switch m {
	case Development:
		return "development"
	case Production:
		return "production"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// BasicAuth is the Admin UI's basic authentication (the npm package's
// auth: {type: "basic", username, password}): the UI's connection form
// sends a username and a password, checked against Username and
// PasswordHash. A client that passed it gets a session id, which the UI
// keeps and sends instead when it reconnects (see Store).
type BasicAuth struct {
	// Username is the name the UI must send.
	Username string
	// PasswordHash is the bcrypt hash of the password the UI must send
	// (the npm package's password field), as made by
	// golang.org/x/crypto/bcrypt.GenerateFromPassword or by the bcrypt
	// and bcryptjs npm packages: "$2a$", "$2b$" or "$2y$", then the cost.
	PasswordHash string
}

// Options configures Instrument. A nil *Options is refused: Auth must be
// set, or NoAuth chosen explicitly, as the npm package requires. Zero
// fields take the defaults given.
type Options struct {
	// NamespaceName is the namespace the Admin UI connects to (its
	// connection form's "Admin namespace"). Default "/admin".
	NamespaceName string
	// Auth, if set, is the credentials the UI must present.
	Auth *BasicAuth
	// NoAuth lets any client connect to the admin namespace without
	// credentials (the npm package's auth: false): anyone who can reach
	// the server may then watch every socket and, unless ReadOnly,
	// disconnect them. Default false; Instrument fails if neither Auth
	// nor NoAuth is set.
	NoAuth bool
	// ReadOnly refuses the UI's actions: emitting, making sockets join or
	// leave rooms, disconnecting them. Default false.
	ReadOnly bool
	// ServerID names this server in the UI's list of servers; servers
	// sharing an adapter need distinct ids. Default the host name
	// (os.Hostname).
	ServerID string
	// Store keeps the session ids of clients that passed Auth. Default
	// NewMemoryStore(0). Servers sharing an adapter need a shared store
	// for a UI to reconnect to another one without its credentials.
	Store Store
	// Mode says how much the UI is told. Default Development, as the
	// npm package's default when NODE_ENV is unset.
	Mode Mode
	// ServerStatsInterval is the time between two server_stats the UI
	// receives; the UI marks a server unhealthy after 10 s without one.
	// Default 2s, as in the npm package.
	ServerStatsInterval time.Duration
	// Meter, if set, counts the server's connections, packets and bytes
	// at the Engine.IO layer for the UI's charts; its Observer must be the
	// server's Options.Observer. Default nil: connections are counted when
	// their first socket connects, and packets and bytes are not.
	Meter *Meter
	// Logger receives diagnostics: refused credentials at debug level,
	// failures of the Store and of actions at warning level. Default
	// slog.Default().
	Logger *slog.Logger
}

// withDefaults returns a copy of o with the defaults applied, or an error
// saying what is wrong with it.
func (o *Options) withDefaults() (Options, error) {
	if o == nil {
		return Options{}, errors.New("adminui: Options must set Auth, or NoAuth to allow anyone")
	}
	c := *o
	switch {
	case c.Auth == nil && !c.NoAuth:
		return c, errors.New("adminui: Options must set Auth, or NoAuth to allow anyone")
	case c.Auth != nil && c.NoAuth:
		return c, errors.New("adminui: Options set both Auth and NoAuth")
	case c.Auth != nil:
		if _, err := bcrypt.Cost([]byte(c.Auth.PasswordHash)); err != nil {
			return c, fmt.Errorf("adminui: BasicAuth.PasswordHash is not a bcrypt hash: %w", err)
		}
	}
	if c.Mode != Development && c.Mode != Production {
		return c, fmt.Errorf("adminui: unknown %v", c.Mode)
	}
	if c.NamespaceName == "" {
		c.NamespaceName = "/admin"
	}
	if !strings.HasPrefix(c.NamespaceName, "/") {
		c.NamespaceName = "/" + c.NamespaceName
	}
	if c.ServerID == "" {
		host, err := os.Hostname()
		if err != nil {
			return c, fmt.Errorf("adminui: no ServerID, and no host name to use instead: %w", err)
		}
		c.ServerID = host
	}
	if c.Store == nil {
		c.Store = NewMemoryStore(0)
	}
	if c.ServerStatsInterval <= 0 {
		c.ServerStatsInterval = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Store keeps the session ids given to Admin UI clients that passed
// BasicAuth (the npm package's store option), so that a UI reconnecting
// sends its session id instead of the credentials. Its methods must be
// safe for concurrent use; they run on the connecting client's read
// goroutine.
type Store interface {
	// SessionExists reports whether id was saved and is still valid.
	SessionExists(ctx context.Context, id string) (bool, error)
	// SaveSession saves a new session id.
	SaveSession(ctx context.Context, id string) error
}

// MemoryStore is a Store in memory, for one server (the npm package's
// InMemoryStore). Each session lasts a fixed time from its creation.
type MemoryStore struct {
	ttl time.Duration

	mu       sync.Mutex
	sessions map[string]time.Time // guarded by mu: id -> expiry
}

// NewMemoryStore returns a MemoryStore whose sessions last ttl; zero or
// less gives 24 hours, the session duration of the npm package's
// RedisStore (its InMemoryStore keeps them for the process's life).
func NewMemoryStore(ttl time.Duration) *MemoryStore {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &MemoryStore{ttl: ttl, sessions: make(map[string]time.Time)}
}

// SessionExists implements Store.
func (m *MemoryStore) SessionExists(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	expiry, ok := m.sessions[id]
	if ok && !time.Now().Before(expiry) {
		delete(m.sessions, id)
		return false, nil
	}
	return ok, nil
}

// SaveSession implements Store. It also forgets the sessions that have
// expired.
func (m *MemoryStore) SaveSession(_ context.Context, id string) error {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for old, expiry := range m.sessions {
		if !now.Before(expiry) {
			delete(m.sessions, old)
		}
	}
	m.sessions[id] = now.Add(m.ttl)
	return nil
}

// newSessionID returns a random session id: 128 bits, in hexadecimal.
func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
