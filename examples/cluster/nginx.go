package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// upstreamHeader is the response header in which nginx names the chat
// server that answered: open the browser's developer tools to see which
// server a page is on.
const upstreamHeader = "X-Ferry-Upstream"

// nginxBinary returns the path of the nginx executable.
func nginxBinary() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	// /usr/sbin is often missing from an unprivileged user's PATH.
	const debianPath = "/usr/sbin/nginx"
	if _, err := os.Stat(debianPath); err == nil {
		return debianPath, nil
	}
	return "", errors.New("nginx is not installed (Debian: apt-get install nginx-light, or make deps)")
}

// nginxConfig is what the configuration is written from.
type nginxConfig struct {
	Dir     string   // nginx's folder: pid file, temporary files
	Listen  string   // host:port
	Servers []string // the chat servers, host:port
	User    string   // the "user" directive, when running as root
}

// nginxTemplate is the configuration, for text/template.
const nginxTemplate = `# Written by the cluster example (examples/cluster) for one run.
worker_processes 1;
{{.User}}
pid {{.Dir}}/nginx.pid;
error_log stderr notice;

events {
	worker_connections 1024;
}

http {
	access_log off;
	client_body_temp_path {{.Dir}}/tmp/body;
	proxy_temp_path {{.Dir}}/tmp/proxy;
	fastcgi_temp_path {{.Dir}}/tmp/fastcgi;
	uwsgi_temp_path {{.Dir}}/tmp/uwsgi;
	scgi_temp_path {{.Dir}}/tmp/scgi;

	upstream ferry_chat {
		# Plain round-robin, no sticky sessions: a long-polling request or
		# a WebSocket that reaches a server which does not hold its
		# connection is relayed, through Redis, to the one that does
		# (ferry.Options.Relay).
{{- range .Servers}}
		server {{.}};
{{- end}}
	}

	# Connection: upgrade for WebSocket handshakes, close otherwise.
	map $http_upgrade $connection_upgrade {
		default upgrade;
		''      close;
	}

	server {
		listen {{.Listen}};

		location / {
			proxy_pass http://ferry_chat;
			proxy_http_version 1.1;
			# Ferry accepts same-origin requests only: keep the browser's
			# Host, port included, so that Origin and Host still match.
			proxy_set_header Host $http_host;
			proxy_set_header Upgrade $http_upgrade;
			proxy_set_header Connection $connection_upgrade;
			# Longer than a long-poll is held (the 25 s ping interval).
			proxy_read_timeout 60s;
			proxy_send_timeout 60s;
			proxy_buffering off;
			add_header ` + upstreamHeader + ` $upstream_addr always;
		}
	}
}
`

// render returns the configuration file's text.
func (c nginxConfig) render() (string, error) {
	tmpl, err := template.New("nginx.conf").Parse(nginxTemplate)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, c); err != nil {
		return "", err
	}
	return b.String(), nil
}

// userDirective returns the "user" directive nginx needs when run as root:
// otherwise its worker runs as "nobody", which cannot enter the private
// temporary folder. An unprivileged nginx ignores the directive, so none
// is written.
func userDirective() (string, error) {
	if os.Geteuid() != 0 {
		return "", nil
	}
	u, err := user.Current()
	if err != nil {
		return "", fmt.Errorf("looking up the current user: %w", err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return "", fmt.Errorf("looking up the current user's group: %w", err)
	}
	return fmt.Sprintf("user %s %s;", u.Username, g.Name), nil
}

// writeNginxConfig writes the configuration into dir and returns its path.
func writeNginxConfig(dir, listen string, servers []string) (string, error) {
	runAs, err := userDirective()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return "", err
	}
	conf, err := nginxConfig{Dir: dir, Listen: listen, Servers: servers, User: runAs}.render()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "nginx.conf")
	return path, os.WriteFile(path, []byte(conf), 0o600)
}

// errAddrInUse reports that nginx could not bind its port.
var errAddrInUse = errors.New("address already in use")

// startNginx runs nginx in the foreground with the configuration at conf,
// and waits until it has written its pid file, which it does once its port
// is bound.
func startNginx(ctx context.Context, dir, conf string, logs *logMux) (*child, error) {
	bin, err := nginxBinary()
	if err != nil {
		return nil, err
	}
	pidPath := filepath.Join(dir, "nginx.pid")
	_ = os.Remove(pidPath)
	// nginx's early messages, before it reads error_log, go to -e.
	var early tailBuffer
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", "stderr", "-g", "daemon off;")
	cmd.Stderr = multiWriter{logs.writer("nginx"), &early}
	c, err := startChild("nginx", cmd, logs)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(pidPath); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return c, nil
		}
		select {
		case <-c.exited:
			return nil, nginxFailed(c.err, early.String())
		case <-ctx.Done():
			c.kill()
			return nil, fmt.Errorf("nginx did not bind its port within %v", startTimeout)
		case <-tick.C:
			// nginx retries a taken port for 2.5 s before giving up; no
			// need to wait for that.
			if strings.Contains(early.String(), "Address already in use") {
				c.kill()
				return nil, errAddrInUse
			}
		}
	}
}

// nginxFailed describes nginx exiting before it was ready.
func nginxFailed(err error, output string) error {
	if strings.Contains(output, "Address already in use") {
		return errAddrInUse
	}
	return fmt.Errorf("nginx exited before binding its port (%v): %s", err, strings.TrimSpace(output))
}
