package adminui_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/adminui"
	"github.com/ferryio/ferry/parser"
)

// quiet discards the servers' logs.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const (
	testUser     = "admin"
	testPassword = "changeit"
	testServerID = "ferry-test"
)

// testHash is the bcrypt hash of testPassword, at the lowest cost to keep
// the tests quick.
func testHash(t testing.TB) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	require.NoError(t, err)
	return string(h)
}

// appServer is a Ferry server with the app of refserver.mjs, instrumented
// with opts (Auth set to testUser and testPassword when nil); it and its
// instrumentation close when t ends.
type appServer struct {
	*ferry.Server
	URL  string
	Inst *adminui.Instrumentation
}

func newAppServer(t testing.TB, ferryOpts *ferry.Options, opts *adminui.Options) *appServer {
	t.Helper()
	o := ferry.Options{Logger: quiet}
	if ferryOpts != nil {
		o = *ferryOpts
		if o.Logger == nil {
			o.Logger = quiet
		}
	}
	srv := ferry.NewServer(&o)
	srv.OnConnection(func(s *ferry.Socket) {
		s.On("hello", func(*ferry.Event) { s.Emit("world", "back") })
		s.On("rooms", func(e *ferry.Event) {
			rooms := s.Rooms()
			slices.Sort(rooms)
			e.Ack(rooms)
		})
	})
	if opts == nil {
		opts = &adminui.Options{Auth: &adminui.BasicAuth{Username: testUser, PasswordHash: testHash(t)}}
	}
	if opts.ServerID == "" {
		opts.ServerID = testServerID
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	inst, err := adminui.Instrument(srv, opts)
	require.NoError(t, err)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { srv.Close() })
	t.Cleanup(func() { inst.Close() })
	return &appServer{Server: srv, URL: hs.URL, Inst: inst}
}

// closeReasons is what protocol.mjs saw of a connection the UI closed.
type closeReasons struct {
	Client string `json:"closeClient"`
	Server string `json:"closeServer"`
}

// runProtocol runs protocol.mjs against url and returns what it printed
// of the closed connection.
func runProtocol(t *testing.T, url, parserName string) closeReasons {
	out := runNode(t, 90*time.Second, "protocol.mjs",
		"URL="+url, "PARSER="+parserName, "USERNAME="+testUser, "PASSWORD="+testPassword, "SERVER_ID="+testServerID)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Equal(t, "ok", lines[len(lines)-1], out)
	var r closeReasons
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &r), out)
	return r
}

// TestProtocol checks the admin namespace with the official client: the
// credentials refused and accepted, the session id, the config, every
// event's shape, and the UI's actions. The same checks pass against
// socket.io with @socket.io/admin-ui, which calibrates them.
func TestProtocol(t *testing.T) {
	for _, p := range []struct {
		name  string
		codec parser.Codec
	}{{"json", parser.JSON()}, {"msgpack", parser.Msgpack()}} {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			ref := startNodeServer(t, "refserver.mjs",
				"PARSER="+p.name, "USERNAME="+testUser, "PASSWORD_HASH="+testHash(t), "SERVER_ID="+testServerID)
			want := runProtocol(t, ref, p.name)

			app := newAppServer(t, &ferry.Options{Parser: p.codec}, nil)
			got := runProtocol(t, app.URL, p.name)
			require.Equal(t, want, got, "a connection closed by the UI is reported as socket.io reports it")
		})
	}
}
