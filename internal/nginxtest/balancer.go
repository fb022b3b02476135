package nginxtest

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// StartBalancer starts nginx as a load balancer for upstreamURLs (servers
// listening on 127.0.0.1) and returns its base URL. Each request goes to
// the next upstream in turn (plain round-robin: no ip_hash, nothing
// sticky), WebSocket handshakes included, whose Upgrade and Connection
// headers are passed on. A request that cannot reach its upstream (a
// server that died) goes to the next, as nginx does by default. nginx may
// hold 16384 connections. It is stopped in t.Cleanup, and its logs are
// added to the output of a test that fails.
func StartBalancer(t testing.TB, upstreamURLs []string) string {
	t.Helper()
	bin := Binary(t)
	var hosts []string
	for _, raw := range upstreamURLs {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			t.Fatalf("nginxtest: bad upstream URL %q: %v", raw, err)
		}
		hosts = append(hosts, u.Host)
	}
	runAs, err := userDirective()
	if err != nil {
		t.Fatalf("nginxtest: %v", err)
	}
	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("nginxtest: picking a port: %v", err)
		}
		p, err := start(bin, dir, balancerConfig(dir, port, hosts, runAs))
		if err == nil {
			t.Cleanup(func() {
				p.stop()
				if t.Failed() {
					t.Logf("nginx logs (balancer for %s):\n%s", strings.Join(upstreamURLs, ", "), p.logs())
				}
			})
			return "http://127.0.0.1:" + strconv.Itoa(port)
		}
		if attempt == startAttempts || !errors.Is(err, errAddrInUse) {
			t.Fatalf("nginxtest: starting nginx (attempt %d): %v", attempt, err)
		}
	}
}

// balancerConfig returns an nginx.conf balancing over hosts, keeping every
// file nginx writes inside dir. Only errors are logged: a balancer test
// makes many requests.
func balancerConfig(dir string, port int, hosts []string, runAs string) string {
	var servers strings.Builder
	for _, h := range hosts {
		fmt.Fprintf(&servers, "\t\tserver %s;\n", h)
	}
	tmp := filepath.Join(dir, "tmp")
	return fmt.Sprintf(`# Written by nginxtest for one test.
worker_processes 1;
worker_rlimit_nofile 20000;
%[1]s
pid %[2]s/nginx.pid;
error_log %[2]s/error.log error;

events {
	worker_connections 16384;
}

http {
	access_log off;
	client_body_temp_path %[3]s/body;
	proxy_temp_path %[3]s/proxy;
	fastcgi_temp_path %[3]s/fastcgi;
	uwsgi_temp_path %[3]s/uwsgi;
	scgi_temp_path %[3]s/scgi;

	upstream ferry {
%[5]s	}

	server {
		listen 127.0.0.1:%[4]d;

		location / {
			proxy_pass http://ferry;
			proxy_http_version 1.1;
			proxy_set_header Host $http_host;
			proxy_set_header Upgrade $http_upgrade;
			proxy_set_header Connection "upgrade";
			proxy_read_timeout 60s;
			proxy_send_timeout 60s;
			proxy_connect_timeout 2s;
		}
	}
}
`, runAs, dir, tmp, port, servers.String())
}
