package proxymatrix

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"testing"
)

// NginxConfig chooses how an nginx reverse proxy treats what it carries.
type NginxConfig struct {
	// Buffering turns on proxy_buffering and proxy_request_buffering (the
	// defaults of nginx; a proxy configured for Socket.IO usually turns
	// them off): responses and request bodies are buffered whole.
	Buffering bool
	// HTTP10 leaves proxy_http_version at its default, 1.0: no keep-alive
	// to the upstream, and no WebSocket.
	HTTP10 bool
	// ForwardUpgrades passes the Upgrade and Connection headers on, with
	// HTTP/1.1 to the upstream, so that WebSockets pass.
	ForwardUpgrades bool
	// RefusePolling answers every long-polling request with 403, as a
	// proxy that only lets WebSockets through.
	RefusePolling bool
}

// StartNginx starts nginx as a reverse proxy for upstream
// ("127.0.0.1:port") and returns its base URL.
func StartNginx(t testing.TB, upstream string, c NginxConfig) string {
	t.Helper()
	bin := binary(t, "nginx", "nginx-light")
	runAs := ""
	if os.Geteuid() == 0 {
		// As root, nginx's worker would run as "nobody", which cannot
		// enter the test's directory.
		u, err := user.Current()
		if err != nil {
			t.Fatalf("proxymatrix: %v", err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			t.Fatalf("proxymatrix: %v", err)
		}
		runAs = fmt.Sprintf("user %s %s;", u.Username, g.Name)
	}
	addr := startOnFreePort(t, "nginx", bin, func(dir string, port int) []string {
		os.MkdirAll(filepath.Join(dir, "tmp"), 0o700)
		conf := filepath.Join(dir, "nginx.conf")
		os.WriteFile(conf, []byte(nginxConfig(dir, port, upstream, runAs, c)), 0o644)
		return []string{"-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;"}
	})
	return "http://" + addr
}

func nginxConfig(dir string, port int, upstream, runAs string, c NginxConfig) string {
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	var extra string
	if !c.HTTP10 {
		extra += "proxy_http_version 1.1;\n\t\t\t"
	}
	if c.ForwardUpgrades {
		extra += "proxy_set_header Upgrade $http_upgrade;\n\t\t\tproxy_set_header Connection \"upgrade\";\n\t\t\t"
	} else if !c.HTTP10 {
		extra += "proxy_set_header Connection \"\";\n\t\t\t"
	}
	if c.RefusePolling {
		extra += "if ($arg_transport = \"polling\") { return 403; }\n\t\t\t"
	}
	return fmt.Sprintf(`# Written by proxymatrix for one test: a reverse proxy.
worker_processes 1;
%[3]s
pid %[1]s/nginx.pid;
error_log %[1]s/error.log notice;

events {
	worker_connections 512;
}

http {
	access_log %[1]s/access.log;
	client_body_temp_path %[1]s/tmp/body;
	proxy_temp_path %[1]s/tmp/proxy;
	fastcgi_temp_path %[1]s/tmp/fastcgi;
	uwsgi_temp_path %[1]s/tmp/uwsgi;
	scgi_temp_path %[1]s/tmp/scgi;
	client_max_body_size 4m;

	server {
		listen 127.0.0.1:%[2]d;

		location / {
			proxy_pass http://%[4]s;
			proxy_set_header Host $http_host;
			proxy_buffering %[5]s;
			proxy_request_buffering %[5]s;
			proxy_read_timeout 60s;
			proxy_send_timeout 60s;
			%[6]s
		}
	}
}
`, dir, port, runAs, upstream, onOff(c.Buffering), extra)
}
