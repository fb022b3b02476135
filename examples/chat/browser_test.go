package main

import (
	"encoding/json"
	"image/png"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryio/ferry/examples/chat/chatserver"
	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumPath is Debian's Chromium, installed by `make deps`. The tests
// never download a browser.
const chromiumPath = "/usr/bin/chromium"

// artifactsDir is where screenshots go: $FERRY_ARTIFACTS, or artifacts/ at
// the repository root (ignored by git).
func artifactsDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("FERRY_ARTIFACTS"); dir != "" {
		return dir
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "artifacts"))
	require.NoError(t, err)
	return dir
}

// TestBrowser runs the chat page in headless Chromium
// (internal/nodetest/node/chat-browser.mjs): alice on long-polling only,
// bob upgrading to WebSocket, carol on a phone-width screen. They see each
// other's messages, typing and presence, and each badge shows its
// transport. The screenshots are kept as artifacts.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed at %s: run make deps (%v)", chromiumPath, err)
	}
	app := chatserver.New(slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(app)
	defer srv.Close()
	defer app.Close() // first: answers parked long-polls

	dir := artifactsDir(t)
	out := nodetest.Run(t, 90*time.Second, "chat-browser.mjs", []string{srv.URL, dir}, "CHROMIUM_PATH="+chromiumPath)
	var summary struct {
		Alice, Bob  string
		People      []string
		Screenshots []string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &summary), out)
	assert.Equal(t, "polling", summary.Alice, "alice's badge (?transport=polling)")
	assert.Equal(t, "websocket", summary.Bob, "bob's badge (upgraded)")
	assert.Equal(t, []string{"alice", "bob"}, summary.People)
	require.Len(t, summary.Screenshots, 5)
	for _, name := range summary.Screenshots {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		cfg, err := png.DecodeConfig(f)
		f.Close()
		require.NoError(t, err, name)
		assert.GreaterOrEqual(t, cfg.Width, 390, name)
		assert.GreaterOrEqual(t, cfg.Height, 720, name)
		t.Logf("screenshot: %s (%dx%d)", filepath.Join(dir, name), cfg.Width, cfg.Height)
	}
}
