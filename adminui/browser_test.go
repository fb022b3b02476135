package adminui_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/adminui"
)

// TestAdminUIInChromium serves the npm package's built UI on one origin
// and a Ferry server on another, and drives the UI in Chromium
// (ui-browser.mjs): it logs in through the connection form, lists the
// server, the sockets, their rooms and events, makes a socket join a room
// and disconnects another. The server confirms what the UI did.
func TestAdminUIInChromium(t *testing.T) {
	requireNode(t)
	ui := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(nodeDir(), "node_modules", "@socket.io", "admin-ui", "ui", "dist"))))
	t.Cleanup(ui.Close)

	var mu sync.Mutex
	joined := make(map[string][]string) // socket id -> rooms joined, guarded by mu
	reasons := make(map[string]string)  // socket id -> disconnect reason, guarded by mu
	app := newAppServer(t, &ferry.Options{
		CORS: &ferry.CORSOptions{AllowedOrigins: []string{ui.URL}, AllowCredentials: true},
	}, &adminui.Options{
		NamespaceName: "/ops",
		Auth:          &adminui.BasicAuth{Username: testUser, PasswordHash: testHash(t)},
		ServerID:      "ferry-browser",
	})
	app.Of("/chat")
	main := app.Of("/")
	main.OnJoinRoom(func(s *ferry.Socket, room string) {
		mu.Lock()
		joined[s.ID()] = append(joined[s.ID()], room)
		mu.Unlock()
	})
	app.OnConnection(func(s *ferry.Socket) {
		s.Join("lobby")
		s.OnDisconnect(func(s *ferry.Socket, r ferry.DisconnectReason) {
			mu.Lock()
			reasons[s.ID()] = r.String()
			mu.Unlock()
		})
	})

	artifacts := os.Getenv("ADMINUI_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	out := runNode(t, 3*time.Minute, "ui-browser.mjs",
		"UI_URL="+ui.URL, "SERVER_URL="+app.URL, "NAMESPACE=/ops",
		"USERNAME="+testUser, "PASSWORD="+testPassword, "SERVER_ID=ferry-browser", "ARTIFACTS="+artifacts)
	var ids struct{ Alice, Bob, Carol string }
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &ids), out)

	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, joined[ids.Alice], "vip", "the UI made alice join vip")
	require.Equal(t, "server namespace disconnect", reasons[ids.Bob], "the UI disconnected bob")
}
