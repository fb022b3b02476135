package adminui

import (
	"context"
	"crypto/subtle"

	"golang.org/x/crypto/bcrypt"

	"github.com/ferryio/ferry"
)

// errInvalidCredentials is what a refused UI is told; the UI shows its own
// text for exactly this message.
var errInvalidCredentials = &ferry.ConnectError{Message: "invalid credentials"}

// errClosed is what a UI connecting after Close is told.
var errClosed = &ferry.ConnectError{Message: "admin UI closed"}

// credentials is the auth payload of the UI's connection: a session id
// when it reconnects, else what its connection form holds.
type credentials struct {
	SessionID any `json:"sessionId"`
	Username  any `json:"username"`
	Password  any `json:"password"`
}

// authenticate is the admin namespace's middleware. With BasicAuth, a UI
// gets in with a session id the Store knows, or with the right username
// and password; then it is given a new session id, in a "session" event.
func (i *Instrumentation) authenticate(s *ferry.Socket) error {
	if i.closed.Load() {
		return errClosed
	}
	auth := i.opts.Auth
	if auth == nil {
		return nil
	}
	var c credentials
	if err := s.Handshake().DecodeAuth(&c); err != nil {
		i.logger.Debug("adminui: refused: auth payload does not decode", "socket", s.ID(), "err", err)
		return errInvalidCredentials
	}
	ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
	defer cancel()
	if id, ok := c.SessionID.(string); ok && id != "" {
		known, err := i.opts.Store.SessionExists(ctx, id)
		if err != nil {
			i.logger.Warn("adminui: looking up a session failed", "err", err)
		}
		if known {
			return nil
		}
	}
	username, _ := c.Username.(string)
	password, _ := c.Password.(string)
	// Both are checked whatever the username, so that the time taken does
	// not tell whether the username was right.
	userOK := subtle.ConstantTimeCompare([]byte(username), []byte(auth.Username)) == 1
	passwordOK := bcrypt.CompareHashAndPassword([]byte(auth.PasswordHash), []byte(password)) == nil
	if !userOK || !passwordOK {
		i.logger.Debug("adminui: refused: invalid credentials", "socket", s.ID(), "address", s.Conn().RemoteAddr())
		return errInvalidCredentials
	}
	id := newSessionID()
	if err := i.opts.Store.SaveSession(ctx, id); err != nil {
		// The UI gets in, and will need its credentials again.
		i.logger.Warn("adminui: saving a session failed", "err", err)
		return nil
	}
	s.Emit("session", id)
	return nil
}
