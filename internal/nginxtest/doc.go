// Package nginxtest runs a real nginx (the Debian package, installed by
// `make deps`) as a reverse proxy in front of a test server.
//
// It is an internal test helper, not a layer: it imports no Ferry package,
// so any package's tests (the session interop tests, examples/proxy) may use
// it.
//
// In: the URL of an upstream server listening on 127.0.0.1 and whether
// WebSocket upgrades should be forwarded. Out: the URL of an nginx on
// 127.0.0.1 with an OS-picked port that proxies every path to the upstream.
// The configuration, pid file, logs and temporary files live in the test's
// t.TempDir(); nginx runs in the foreground as a child of the test process
// and is stopped in t.Cleanup.
//
// With forwardUpgrades the proxy passes the Upgrade and Connection headers
// on, as the nginx documentation's WebSocket recipe does, so WebSocket
// handshakes reach the upstream. Without it the proxy speaks plain HTTP/1.1
// to the upstream with an empty Connection header, as a proxy configured
// without WebSocket support does: a WebSocket handshake reaches the upstream
// as an ordinary GET, and long-polling keeps working.
package nginxtest
