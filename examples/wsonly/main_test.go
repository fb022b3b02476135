package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start runs the example on httptest (127.0.0.1) until the test ends.
func start(t *testing.T) string {
	t.Helper()
	a := newApp(slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { a.ferry.Close() })
	return srv.URL
}

// TestRefusesPolling: every long-polling request gets Engine.IO's
// "Transport unknown" error, code 0, with status 400.
func TestRefusesPolling(t *testing.T) {
	t.Parallel()
	url := start(t)
	for _, req := range []struct{ method, query string }{
		{http.MethodGet, "EIO=4&transport=polling"},
		{http.MethodGet, "EIO=4&transport=polling&sid=abc"},
		{http.MethodPost, "EIO=4&transport=polling&sid=abc"},
	} {
		r, err := http.NewRequest(req.method, url+"/socket.io/?"+req.query, strings.NewReader("40"))
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s %s", req.method, req.query)
		var e struct {
			Code    *int   `json:"code"`
			Message string `json:"message"`
		}
		require.NoError(t, json.Unmarshal(body, &e), "%s", body)
		require.NotNil(t, e.Code, "%s", body)
		assert.Equal(t, 0, *e.Code, "%s %s", req.method, req.query)
		assert.Equal(t, "Transport unknown", e.Message)
	}
}

// TestServesPage: the page and the bundled client.
func TestServesPage(t *testing.T) {
	t.Parallel()
	url := start(t)
	for path, want := range map[string]string{
		"/":                       "ferry.min.js",
		"/app.js":                 "websocketOnly: true",
		"/socket.io/ferry.min.js": "onTransportChange",
	} {
		resp, err := http.Get(url + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Contains(t, string(body), want, path)
	}
}

// TestWebSocketClients: the official socket.io-client with transports
// ["websocket"] shares the counter; clients starting on polling are refused.
func TestWebSocketClients(t *testing.T) {
	t.Parallel()
	out := nodetest.Run(t, 20*time.Second, "wsonly-client.mjs", []string{start(t)})
	assert.Equal(t, 4, strings.Count(out, "ok - "), out)
}

// TestBrowser: the page in headless Chromium connects with websocketOnly,
// makes no long-polling request, and its + button works.
func TestBrowser(t *testing.T) {
	t.Parallel()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is not installed at %s: run make deps (%v)", chromium, err)
	}
	dir := os.Getenv("FERRY_ARTIFACTS")
	if dir == "" {
		var err error
		dir, err = filepath.Abs(filepath.Join("..", "..", "artifacts"))
		require.NoError(t, err)
	}
	out := nodetest.Run(t, 60*time.Second, "wsonly-browser.mjs", []string{start(t), dir}, "CHROMIUM_PATH="+chromium)
	var got struct{ Transport, Count string }
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, "websocket", got.Transport)
	assert.Equal(t, "2", got.Count)
}

// TestServeShutsDown: serve returns once its context is cancelled, and the
// connected WebSocket client (a hijacked connection, which
// http.Server.Shutdown leaves alone) is closed by the Ferry server.
func TestServeShutsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, slog.New(slog.DiscardHandler)) }()

	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	http.DefaultClient.CloseIdleConnections()

	ws, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/socket.io/?EIO=4&transport=websocket", nil)
	require.NoError(t, err)
	defer ws.Close()
	_, open, err := ws.ReadMessage()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(open), "0{"), "Engine.IO open packet: %q", open)

	cancel()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(shutdownTimeout):
		t.Fatal("serve did not return after its context was cancelled")
	}
	// The server closed the WebSocket: reads end (after any final packets).
	require.NoError(t, ws.SetReadDeadline(time.Now().Add(5*time.Second)))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var netErr net.Error
			assert.False(t, errors.As(err, &netErr) && netErr.Timeout(), "the server left the WebSocket open: %v", err)
			break
		}
	}
}
