package chatserver_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferryio/ferry/examples/chat/chatserver"
	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// start runs a chat server on httptest (127.0.0.1, OS-picked port) until
// the test ends.
func start(t *testing.T) string {
	t.Helper()
	app := chatserver.New(slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { app.Close() }) // runs first: answers parked long-polls
	return srv.URL
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func TestPageAndAssets(t *testing.T) {
	t.Parallel()
	url := start(t)
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script src="/socket.io/ferry.`},
		{"/static/app.js", "text/javascript; charset=utf-8", "ferry.onTransportChange(socket"},
		{"/static/style.css", "text/css; charset=utf-8", ".badge[data-transport=\"websocket\"]"},
		{"/static/favicon.svg", "image/svg+xml", "<svg"},
		{"/socket.io/ferry.min.js", "javascript", "onTransportChange"},
	} {
		resp, body := get(t, url+tc.path)
		assert.Equal(t, http.StatusOK, resp.StatusCode, tc.path)
		assert.Contains(t, resp.Header.Get("Content-Type"), tc.contentType, tc.path)
		assert.Contains(t, body, tc.contains, tc.path)
		assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "default-src 'self'", tc.path)
		assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), tc.path)
	}
}

// TestPageLoadsHashedClient checks that the page loads the client bundle
// from its content-hashed path, which the server lets browsers cache for
// good.
func TestPageLoadsHashedClient(t *testing.T) {
	t.Parallel()
	url := start(t)
	_, page := get(t, url+"/")
	m := regexp.MustCompile(`<script src="(/socket\.io/ferry\.[0-9a-f]{16}\.min\.js)" defer></script>`).FindStringSubmatch(page)
	require.NotNil(t, m, "the page's client script tag")
	resp, body := get(t, url+m[1])
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "public, max-age=31536000, immutable", resp.Header.Get("Cache-Control"))
	assert.Contains(t, resp.Header.Get("Content-Type"), "javascript")
	assert.Contains(t, body, "onTransportChange")
	assert.NotContains(t, page, "{{", "the template is rendered")
}

func TestPageRefusesWhatItDoesNotServe(t *testing.T) {
	t.Parallel()
	url := start(t)
	resp, _ := get(t, url+"/static/missing.js")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, _ = get(t, url+"/elsewhere")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	resp, err := http.Post(url+"/", "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// TestProtocol drives the chat's events with the official socket.io-client
// (internal/nodetest/node/chat-protocol.mjs): validation, join, presence,
// messages and acks, typing, room switching, renaming, history, room list.
func TestProtocol(t *testing.T) {
	t.Parallel()
	url := start(t)
	out := nodetest.Run(t, 20*time.Second, "chat-protocol.mjs", []string{url})
	assert.Equal(t, 11, strings.Count(out, "ok - "), out)
}
