package nginxtest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startAttempts is how many ports StartProxy tries before giving up: a
// port picked by the OS can be taken by another process before nginx binds
// it.
const startAttempts = 5

// startTimeout bounds how long nginx may take to bind its port.
const startTimeout = 10 * time.Second

// stopTimeout bounds how long nginx may take to exit after SIGTERM before
// it is killed.
const stopTimeout = 5 * time.Second

// errAddrInUse reports that nginx could not bind the port it was given.
var errAddrInUse = errors.New("nginxtest: port already in use")

// addrInUse is how nginx's log says that a port is taken (the text of
// EADDRINUSE).
const addrInUse = "Address already in use"

// Binary returns the path of the nginx executable, or fails t, telling the
// reader to run `make deps`, if nginx is not installed.
func Binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	// /usr/sbin is often missing from an unprivileged user's PATH.
	const debianPath = "/usr/sbin/nginx"
	if _, err := os.Stat(debianPath); err == nil {
		return debianPath
	}
	t.Fatalf("nginx is not installed: run `make deps` (it installs nginx-light)")
	return ""
}

// StartProxy starts nginx as a reverse proxy for upstreamURL (such as an
// httptest.Server's URL) and returns the proxy's base URL,
// "http://127.0.0.1:<port>". Every path is proxied.
//
// With forwardUpgrades, the Upgrade and Connection headers are passed on,
// so WebSocket handshakes reach the upstream. Without it, the upstream sees
// HTTP/1.1 requests with an empty Connection header and no Upgrade header.
// Either way the Host header is passed on unchanged ($http_host, port
// included, so that same-origin checks behind the proxy still hold), and
// proxied reads may idle for a minute, far longer than any long-poll in a
// test.
//
// nginx is stopped in t.Cleanup. StartProxy fails t if nginx is missing or
// does not start; the failure includes nginx's error log. When the test
// fails later, nginx's logs are added to its output.
func StartProxy(t testing.TB, upstreamURL string, forwardUpgrades bool) string {
	t.Helper()
	bin := Binary(t)
	u, err := url.Parse(upstreamURL)
	if err != nil || u.Host == "" {
		t.Fatalf("nginxtest: bad upstream URL %q: %v", upstreamURL, err)
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
		conf := config(dir, port, u.Host, runAs, forwardUpgrades)
		p, err := start(bin, dir, conf)
		if err == nil {
			t.Cleanup(func() {
				p.stop()
				if t.Failed() {
					t.Logf("nginx logs (proxy for %s):\n%s", upstreamURL, p.logs())
				}
			})
			return "http://127.0.0.1:" + strconv.Itoa(port)
		}
		if !errors.Is(err, errAddrInUse) || attempt == startAttempts {
			t.Fatalf("nginxtest: starting nginx (attempt %d): %v", attempt, err)
		}
	}
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// userDirective returns the "user" directive nginx needs: when the test
// runs as root, nginx would otherwise run its worker as "nobody", which
// cannot enter the test's private temporary directory. An unprivileged
// nginx ignores the directive, so none is written.
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

// config returns an nginx.conf keeping every file nginx writes inside dir.
func config(dir string, port int, upstreamHost, runAs string, forwardUpgrades bool) string {
	headers := `proxy_set_header Connection "";`
	if forwardUpgrades {
		headers = `proxy_set_header Upgrade $http_upgrade;
			proxy_set_header Connection "upgrade";`
	}
	tmp := filepath.Join(dir, "tmp")
	return fmt.Sprintf(`# Written by nginxtest for one test.
worker_processes 1;
%[1]s
pid %[2]s/nginx.pid;
error_log %[2]s/error.log notice;

events {
	worker_connections 1024;
}

http {
	access_log %[2]s/access.log;
	client_body_temp_path %[3]s/body;
	proxy_temp_path %[3]s/proxy;
	fastcgi_temp_path %[3]s/fastcgi;
	uwsgi_temp_path %[3]s/uwsgi;
	scgi_temp_path %[3]s/scgi;

	server {
		listen 127.0.0.1:%[4]d;

		location / {
			proxy_pass http://%[5]s;
			proxy_http_version 1.1;
			proxy_set_header Host $http_host;
			%[6]s
			proxy_read_timeout 60s;
			proxy_send_timeout 60s;
		}
	}
}
`, runAs, dir, tmp, port, upstreamHost, headers)
}

// process is a running nginx master.
type process struct {
	cmd    *exec.Cmd
	dir    string
	exited chan struct{} // closed when the master has exited
}

// start writes conf into dir and runs nginx in the foreground until its pid
// file appears, which nginx writes once its listening socket is bound. It
// returns errAddrInUse if the port was taken.
func start(bin, dir, conf string) (*process, error) {
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	pidPath := filepath.Join(dir, "nginx.pid")
	os.Remove(pidPath)
	errLog := filepath.Join(dir, "error.log")
	os.Remove(errLog)
	stderr, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	cmd := exec.Command(bin, "-p", dir, "-c", confPath, "-e", errLog, "-g", "daemon off;")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", bin, err)
	}
	p := &process{cmd: cmd, dir: dir, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()

	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(pidPath); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return p, nil
		}
		select {
		case <-p.exited:
			logs := p.logs()
			if strings.Contains(logs, addrInUse) {
				return nil, fmt.Errorf("%w\n%s", errAddrInUse, logs)
			}
			return nil, fmt.Errorf("nginx exited (%v) before binding its port\n%s", cmd.ProcessState, logs)
		case <-deadline.C:
			p.stop()
			return nil, fmt.Errorf("nginx did not bind its port within %v\n%s", startTimeout, p.logs())
		case <-tick.C:
			// nginx retries a taken port for 2.5 s before it gives up;
			// there is no need to wait for that.
			if logs := p.logs(); strings.Contains(logs, addrInUse) {
				p.stop()
				return nil, fmt.Errorf("%w\n%s", errAddrInUse, logs)
			}
		}
	}
}

// logs returns nginx's stderr, error log and access log, for failure
// messages.
func (p *process) logs() string {
	var b strings.Builder
	for _, name := range []string{"stderr.log", "error.log", "access.log"} {
		data, err := os.ReadFile(filepath.Join(p.dir, name))
		if err == nil && len(data) > 0 {
			fmt.Fprintf(&b, "--- nginx %s:\n%s", name, data)
		}
	}
	return b.String()
}

// stop asks nginx for a fast shutdown (SIGTERM: open connections, such as
// parked long-polls, are closed rather than waited for), and kills it if it
// has not exited within stopTimeout.
func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		p.kill()
		<-p.exited
	}
}
