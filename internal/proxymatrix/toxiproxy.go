package proxymatrix

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
)

// ToxiproxyVersion is the toxiproxy release whose server the matrix runs.
const ToxiproxyVersion = "v2.5.0"

// toxiproxyBuildTimeout bounds building the toxiproxy server when it is
// not in the cache yet.
const toxiproxyBuildTimeout = 5 * time.Minute

// ToxiproxyServerPath returns where the toxiproxy server binary is kept:
// $TOXIPROXY_SERVER if set, else toxiproxy-server-<version> in the user's
// cache directory under ferry/. scripts/deps builds it there.
func ToxiproxyServerPath() string {
	if p := os.Getenv("TOXIPROXY_SERVER"); p != "" {
		return p
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "ferry", "toxiproxy-server-"+ToxiproxyVersion)
}

var (
	buildOnce sync.Once
	buildErr  error
	buildOut  []byte
)

// toxiproxyServer returns the path of the toxiproxy server, building it
// once (go install, from the Go module proxy) if it is not there.
func toxiproxyServer(t testing.TB) string {
	t.Helper()
	path := ToxiproxyServerPath()
	buildOnce.Do(func() {
		if _, err := os.Stat(path); err == nil {
			return
		}
		gobin := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), toxiproxyBuildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "install", "github.com/Shopify/toxiproxy/v2/cmd/server@"+ToxiproxyVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=")
		cmd.Dir = gobin
		if buildOut, buildErr = cmd.CombinedOutput(); buildErr != nil {
			return
		}
		if buildErr = os.MkdirAll(filepath.Dir(path), 0o755); buildErr != nil {
			return
		}
		buildErr = os.Rename(filepath.Join(gobin, "server"), path)
	})
	if buildErr != nil {
		t.Fatalf("proxymatrix: building the toxiproxy server %s: %v\n%s", ToxiproxyVersion, buildErr, buildOut)
	}
	return path
}

// Toxiproxy is a toxiproxy server run as a process for one test.
type Toxiproxy struct {
	t      testing.TB
	client *toxiproxy.Client
}

// StartToxiproxy starts a toxiproxy server on 127.0.0.1.
func StartToxiproxy(t testing.TB) *Toxiproxy {
	t.Helper()
	bin := toxiproxyServer(t)
	addr := startOnFreePort(t, "toxiproxy", bin, func(dir string, port int) []string {
		return []string{"-host", "127.0.0.1", "-port", strconv.Itoa(port)}
	})
	return &Toxiproxy{t: t, client: toxiproxy.NewClient(addr)}
}

// Proxy creates a proxy to upstream ("127.0.0.1:port") listening on a free
// port of 127.0.0.1, and returns it and its base URL.
func (x *Toxiproxy) Proxy(name, upstream string) (*toxiproxy.Proxy, string) {
	x.t.Helper()
	for attempt := 1; ; attempt++ {
		listen := loopback(freePort(x.t))
		p, err := x.client.CreateProxy(name, listen, upstream)
		if err == nil {
			return p, "http://" + listen
		}
		if attempt == startAttempts {
			x.t.Fatalf("proxymatrix: creating toxiproxy proxy %s: %v", name, err)
		}
	}
}
