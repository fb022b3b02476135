package ferry

import (
	"github.com/ferryio/ferry/internal/jsclient"
)

// newClientHandler serves the bundled JavaScript client (ferry.min.js, its
// content-hashed name and its source map), like socket.io's serveClient.
func newClientHandler() *jsclient.Handler { return jsclient.NewHandler() }

// ClientScriptPath returns the URL path of the bundled JavaScript client
// under a name that carries a hash of its content,
// <Path>ferry.<hash>.min.js, for the script tags of your pages. The server
// serves it with "Cache-Control: public, max-age=31536000, immutable":
// browsers and shared caches keep it without revalidating, and a server
// with another version of the bundle serves it under another name.
// <Path>ferry.min.js serves the same bundle with a one-day Cache-Control
// and an ETag. ClientScriptPath returns "" when Options.DisableClient is
// set.
func (s *Server) ClientScriptPath() string {
	if s.client == nil {
		return ""
	}
	return s.opts.Path + s.client.HashedName()
}
