package proxymatrix

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// HAProxyTimeouts are the timeouts of an HAProxy load balancer. Zero
// fields get a minute.
type HAProxyTimeouts struct {
	// Server is how long HAProxy waits for the server to answer a request
	// (timeout server): a long-poll held longer is cut with a 504.
	Server time.Duration
	// Client is how long a client connection may stay idle between
	// requests (timeout client).
	Client time.Duration
	// Tunnel is how long an upgraded connection (a WebSocket) may stay
	// idle (timeout tunnel), as a NAT or firewall that drops idle flows.
	Tunnel time.Duration
}

// StartHAProxy starts HAProxy in HTTP mode as a load balancer in front of
// upstream ("127.0.0.1:port") and returns its base URL. WebSocket upgrades
// pass.
func StartHAProxy(t testing.TB, upstream string, to HAProxyTimeouts) string {
	t.Helper()
	bin := binary(t, "haproxy", "haproxy")
	addr := startOnFreePort(t, "haproxy", bin, func(dir string, port int) []string {
		conf := filepath.Join(dir, "haproxy.cfg")
		os.WriteFile(conf, []byte(haproxyConfig(port, upstream, to)), 0o644)
		return []string{"-db", "-f", conf}
	})
	return "http://" + addr
}

func ms(d time.Duration) string {
	if d <= 0 {
		d = time.Minute
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

func haproxyConfig(port int, upstream string, to HAProxyTimeouts) string {
	return fmt.Sprintf(`# Written by proxymatrix for one test: a load balancer.
global
	maxconn 512

defaults
	mode http
	timeout connect 2s
	timeout http-request 10s
	timeout client %[3]s
	timeout server %[4]s
	timeout tunnel %[5]s

frontend matrix
	bind 127.0.0.1:%[1]d
	default_backend app

backend app
	server app %[2]s
`, port, upstream, ms(to.Client), ms(to.Server), ms(to.Tunnel))
}
