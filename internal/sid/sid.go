// Package sid makes the unguessable ids Ferry hands out: Engine.IO session
// ids and Socket.IO socket ids. It imports no Ferry layer package.
package sid

import (
	"crypto/rand"
	"encoding/base64"
)

// New returns a fresh id: 15 random bytes from crypto/rand as 20 URL-safe
// base64 characters, the shape of the reference server's ids.
func New() string {
	var b [15]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
