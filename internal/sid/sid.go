// Package sid makes the unguessable ids Ferry hands out: Engine.IO session
// ids and Socket.IO socket ids. It imports no Ferry layer package.
package sid

import (
	"crypto/rand"
	"encoding/base64"
)

// Len is the length of every id: 20 URL-safe base64 characters.
const Len = 20

// NodeLen is the length of the node prefix of a routed id (see Routed).
const NodeLen = 4

// New returns a fresh id: 15 random bytes from crypto/rand as 20 URL-safe
// base64 characters, the shape of the reference server's ids.
func New() string {
	var b [15]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Routed returns a fresh id of the same shape as New's that names the node
// holding it: node (NodeLen URL-safe base64 characters) followed by 12
// random bytes from crypto/rand, 16 characters, so that 96 random bits
// remain, as in socket.io's base64id.
func Routed(node string) string {
	var b [12]byte
	rand.Read(b[:])
	return node + base64.RawURLEncoding.EncodeToString(b[:])
}

// Node returns the node prefix of a routed id, or "" if id does not have
// the shape of one.
func Node(id string) string {
	if len(id) != Len || !ValidNode(id[:NodeLen]) {
		return ""
	}
	return id[:NodeLen]
}

// ValidNode reports whether node is NodeLen characters of the URL-safe
// base64 alphabet.
func ValidNode(node string) bool {
	if len(node) != NodeLen {
		return false
	}
	for i := range len(node) {
		c := node[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
