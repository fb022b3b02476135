package nginxtest_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ferryio/ferry/internal/nginxtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// seen is what the upstream reports about a proxied request.
type seen struct {
	Host       string
	Path       string
	Upgrade    string
	Connection string
	Proto      string
}

func startUpstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{
			Host:       r.Host,
			Path:       r.URL.RequestURI(),
			Upgrade:    r.Header.Get("Upgrade"),
			Connection: r.Header.Get("Connection"),
			Proto:      r.Proto,
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// get asks the proxy for path with the headers a WebSocket handshake
// carries, and decodes what the upstream saw.
func get(t *testing.T, proxyURL, path string) seen {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	req, err := http.NewRequest(http.MethodGet, proxyURL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Server"), "nginx", "the answer should come through nginx")
	var s seen
	require.NoError(t, json.NewDecoder(res.Body).Decode(&s))
	return s
}

func TestStartProxyForwardsUpgrades(t *testing.T) {
	up := startUpstream(t)
	proxy := nginxtest.StartProxy(t, up.URL, true)
	require.True(t, strings.HasPrefix(proxy, "http://127.0.0.1:"), proxy)
	require.NotEqual(t, up.URL, proxy)

	s := get(t, proxy, "/engine.io/?EIO=4&transport=websocket")
	assert.Equal(t, "/engine.io/?EIO=4&transport=websocket", s.Path)
	assert.Equal(t, strings.TrimPrefix(proxy, "http://"), s.Host, "Host, port included, is passed on")
	assert.Equal(t, "websocket", s.Upgrade)
	assert.True(t, strings.EqualFold(s.Connection, "upgrade"), "Connection: %q", s.Connection)
	assert.Equal(t, "HTTP/1.1", s.Proto)
}

func TestStartProxyWithoutUpgrades(t *testing.T) {
	up := startUpstream(t)
	proxy := nginxtest.StartProxy(t, up.URL, false)

	s := get(t, proxy, "/engine.io/?EIO=4&transport=websocket")
	assert.Equal(t, "/engine.io/?EIO=4&transport=websocket", s.Path)
	assert.Equal(t, strings.TrimPrefix(proxy, "http://"), s.Host)
	assert.Empty(t, s.Upgrade, "the Upgrade header must not reach the upstream")
	assert.Empty(t, s.Connection, "the Connection header must not reach the upstream")
	assert.Equal(t, "HTTP/1.1", s.Proto)
}

func TestStartProxyStopsOnCleanup(t *testing.T) {
	up := startUpstream(t)
	var proxy string
	t.Run("run", func(t *testing.T) {
		proxy = nginxtest.StartProxy(t, up.URL, true)
		get(t, proxy, "/")
	})
	require.NotEmpty(t, proxy)
	_, err := net.DialTimeout("tcp", strings.TrimPrefix(proxy, "http://"), time.Second)
	require.Error(t, err, "nginx should no longer listen once the test that started it has ended")
}

func TestStartProxyTwice(t *testing.T) {
	up := startUpstream(t)
	a := nginxtest.StartProxy(t, up.URL, true)
	b := nginxtest.StartProxy(t, up.URL, false)
	require.NotEqual(t, a, b)
	assert.Equal(t, "websocket", get(t, a, "/").Upgrade)
	assert.Empty(t, get(t, b, "/").Upgrade)
}
