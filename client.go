package ferry

import (
	"net/http"

	"github.com/ferryio/ferry/internal/jsclient"
)

// newClientHandler serves the bundled JavaScript client (ferry.min.js and
// its source map), like socket.io's serveClient.
func newClientHandler() http.Handler { return jsclient.Handler() }
