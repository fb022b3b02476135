package proxymatrix

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// StartSquid starts squid as a corporate forward proxy on 127.0.0.1 and
// returns its URL, "http://127.0.0.1:<port>", for clients to use as their
// HTTP proxy. It is configured as such proxies usually are: plain HTTP is
// forwarded for loopback clients, CONNECT is allowed only to port 443 (so
// a ws:// WebSocket cannot tunnel through it), and squid 5 forwards no
// Upgrade request (http_upgrade_request_protocols is not set): WebSockets
// do not pass, long-polling does. Nothing is cached. Its DNS server is set
// to loopback and its ICMP pinger is off, so it sends nothing beyond
// 127.0.0.1.
func StartSquid(t testing.TB) string {
	t.Helper()
	bin := binary(t, "squid", "squid")
	addr := startOnFreePort(t, "squid", bin, func(dir string, port int) []string {
		if os.Geteuid() == 0 {
			// Started as root, squid works as the "proxy" user, which must
			// reach its log and pid files in the test's directory.
			os.Chmod(dir, 0o777)
			os.Chmod(filepath.Dir(dir), 0o755)
		}
		conf := filepath.Join(dir, "squid.conf")
		os.WriteFile(conf, []byte(squidConfig(dir, port)), 0o644)
		return []string{"-N", "-f", conf}
	})
	return "http://" + addr
}

func squidConfig(dir string, port int) string {
	return fmt.Sprintf(`# Written by proxymatrix for one test: a corporate forward proxy.
http_port 127.0.0.1:%[2]d
pid_filename %[1]s/squid.pid
access_log stdio:%[1]s/access.log
cache_log %[1]s/cache.log
cache_store_log none
coredump_dir %[1]s
cache deny all
cache_mem 8 MB
pinger_enable off
dns_nameservers 127.0.0.1
icp_port 0
htcp_port 0
shutdown_lifetime 0 seconds
acl localnet src 127.0.0.0/8
acl SSL_ports port 443
acl CONNECT method CONNECT
http_access deny CONNECT !SSL_ports
http_access allow localnet
http_access deny all
`, dir, port)
}
