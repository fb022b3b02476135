package proxy_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryio/ferry/examples/chat/chatserver"
	"github.com/ferryio/ferry/internal/nginxtest"
	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestChatThroughNginx runs the chat example behind a real nginx. With
// upgrades forwarded, socket.io-client sessions start on long-polling and
// end on WebSocket; with them stripped, the upgrade probe fails and the
// sessions stay on long-polling. Messages flow both ways in both cases
// (internal/nodetest/node/proxy-chat.mjs).
func TestChatThroughNginx(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		forwardUpgrades bool
		want            string
	}{
		{"forwarding upgrades", true, "websocket"},
		{"stripping upgrades", false, "polling"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := chatserver.New(slog.New(slog.DiscardHandler))
			chat := httptest.NewServer(app)
			t.Cleanup(chat.Close)
			t.Cleanup(func() { app.Close() }) // before chat.Close: answers parked long-polls
			proxy := nginxtest.StartProxy(t, chat.URL, tc.forwardUpgrades)

			out := nodetest.Run(t, 30*time.Second, "proxy-chat.mjs", []string{proxy, tc.want})
			var got struct {
				Transports []string
				Upgrade    []string
			}
			require.NoError(t, json.Unmarshal([]byte(out), &got), out)
			assert.Equal(t, []string{tc.want, tc.want}, got.Transports, "upgrade attempts: %v", got.Upgrade)
		})
	}
}

// TestShippedConfigs checks the two configurations in this folder: nginx
// accepts them (nginx -t), and each passes or strips the upgrade headers
// as its README says.
func TestShippedConfigs(t *testing.T) {
	t.Parallel()
	bin := nginxtest.Binary(t)
	common := []string{
		"server 127.0.0.1:3000;",
		"proxy_pass http://ferry_chat;",
		"proxy_http_version 1.1;",
		"proxy_set_header Host $http_host;",
		"proxy_read_timeout 60s;",
	}
	for _, tc := range []struct {
		file          string
		listen        string
		want, notWant []string
	}{
		{
			file:   "nginx-upgrade.conf",
			listen: "listen 127.0.0.1:8080;",
			want:   []string{"proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $connection_upgrade;"},
		},
		{
			file:    "nginx-no-upgrade.conf",
			listen:  "listen 127.0.0.1:8081;",
			want:    []string{`proxy_set_header Connection "";`},
			notWant: []string{"$http_upgrade", "$connection_upgrade"},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path, err := filepath.Abs(tc.file)
			require.NoError(t, err)
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			conf := string(b)
			for _, s := range append(append([]string{tc.listen}, common...), tc.want...) {
				assert.Contains(t, conf, s)
			}
			for _, s := range tc.notWant {
				assert.NotContains(t, stripComments(conf), s)
			}

			// nginx -t checks the syntax and every directive; it writes its
			// temporary folders under the prefix.
			cmd := exec.Command(bin, "-t", "-p", t.TempDir(), "-c", path, "-e", "stderr")
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Contains(t, string(out), "test is successful")
		})
	}
}

// stripComments drops nginx comments ('#' to the end of the line).
func stripComments(conf string) string {
	var out []byte
	inComment := false
	for i := 0; i < len(conf); i++ {
		switch c := conf[i]; {
		case c == '#':
			inComment = true
		case c == '\n':
			inComment = false
			out = append(out, c)
		case !inComment:
			out = append(out, c)
		}
	}
	return string(out)
}
