package session

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

var sidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)

func TestHandshakeFields(t *testing.T) {
	t.Parallel()
	opts := &Options{PingInterval: 1500 * time.Millisecond, PingTimeout: 700 * time.Millisecond, MaxHTTPBufferSize: 12345}
	run(t, opts, func(t *testing.T, c *testClient) {
		assert.Len(t, c.open, 5, "open packet keys: %v", c.open)
		assert.Regexp(t, sidPattern, c.open["sid"])
		assert.Equal(t, 1500.0, c.open["pingInterval"])
		assert.Equal(t, 700.0, c.open["pingTimeout"])
		assert.Equal(t, 12345.0, c.open["maxPayload"])
		want := []any{"websocket"}
		if c.mode == modeWebSocket {
			want = []any{}
		}
		assert.Equal(t, want, c.open["upgrades"])
		assert.Equal(t, 1, c.ts.engine.Count())
	})
}

func TestHandshakeDefaults(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "")
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "text/plain; charset=UTF-8", r.header.Get("Content-Type"))
	assert.Regexp(t, `^0\{"sid":"[A-Za-z0-9_-]{20}","upgrades":\["websocket"\],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000\}$`, r.body)
}

func TestHandshakeUniqueSIDs(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	seen := make(map[string]bool)
	for range 50 {
		c := ts.handshakePolling(t, "EIO=4&transport=polling")
		require.Regexp(t, sidPattern, c.sid)
		require.False(t, seen[c.sid], "sid %s issued twice", c.sid)
		seen[c.sid] = true
	}
	assert.Equal(t, 50, ts.engine.Count())
}

func TestHandshakeNoUpgrades(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]*Options{
		"DisableUpgrades": {DisableUpgrades: true},
		"polling only":    {Transports: []string{transport.NamePolling}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, opts)
			c := ts.handshakePolling(t, "EIO=4&transport=polling")
			assert.Equal(t, []any{}, c.open["upgrades"])
		})
	}
}

func TestHandshakeRequest(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	const extra = "&room=a%20b&room=c"
	for _, c := range []*testClient{
		ts.handshakePolling(t, "EIO=4&transport=polling"+extra),
		ts.handshakeWebSocket(t, "EIO=4&transport=websocket"+extra),
	} {
		before := time.Now()
		hs := c.sess.Handshake()
		assert.Equal(t, ts.engine.Path()+"?EIO=4&transport="+c.mode+extra, hs.URL, "the target as sent")
		q := hs.Query()
		assert.Equal(t, []string{"a b", "c"}, q["room"])
		assert.Equal(t, c.mode, q.Get("transport"))
		q.Set("room", "changed")
		assert.Equal(t, "a b", hs.Query().Get("room"), "each Query is a new map")
		assert.NotEmpty(t, hs.Header().Get("User-Agent"))
		assert.Equal(t, strings.TrimPrefix(ts.srv.URL, "http://"), hs.Host)
		assert.True(t, strings.HasPrefix(hs.RemoteAddr, "127.0.0.1:"), hs.RemoteAddr)
		assert.False(t, hs.Secure)
		assert.False(t, hs.Time.After(before), "handshake time %v is after %v", hs.Time, before)
	}
}

// TestHandshakeBuiltRequest covers a request passed to ServeHTTP by hand,
// which has no RequestURI.
func TestHandshakeBuiltRequest(t *testing.T) {
	t.Parallel()
	r, err := http.NewRequest(http.MethodGet, "http://example.com/socket.io/?EIO=4&transport=polling&x=1", nil)
	require.NoError(t, err)
	r.Header.Set("X-Test", "v")
	hs := newHandshake(r)
	assert.Equal(t, "/socket.io/?EIO=4&transport=polling&x=1", hs.URL)
	assert.Equal(t, "1", hs.Query().Get("x"))
	assert.Equal(t, "v", hs.Header().Get("X-Test"))
	assert.Equal(t, "example.com", hs.Host)
	assert.Empty(t, Handshake{URL: "/socket.io/"}.Query(), "no query")
}

func TestHandshakeOnConnectionSends(t *testing.T) {
	t.Parallel()
	// Packets queued in OnConnection follow the open packet.
	ts := newTestServer(t, &Options{OnConnection: func(s *Session) {
		s.Send(transport.TextPacket("welcome"))
	}})
	r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "")
	require.Equal(t, http.StatusOK, r.status)
	pkts, err := transport.DecodePayload([]byte(r.body))
	require.NoError(t, err)
	require.Len(t, pkts, 2)
	assert.Equal(t, transport.Open, pkts[0].Type)
	assert.Equal(t, transport.TextPacket("welcome"), pkts[1])
}

func TestErrorCodes(t *testing.T) {
	t.Parallel()
	const (
		code0 = `{"code":0,"message":"Transport unknown"}`
		code1 = `{"code":1,"message":"Session ID unknown"}`
		code2 = `{"code":2,"message":"Bad handshake method"}`
		code3 = `{"code":3,"message":"Bad request"}`
		code4 = `{"code":4,"message":"Forbidden"}`
		code5 = `{"code":5,"message":"Unsupported protocol version"}`
	)
	ts := newTestServer(t, &Options{AllowRequest: func(r *http.Request) error {
		if r.Header.Get("X-Refuse") != "" {
			return errors.New("refused")
		}
		return nil
	}})
	wsOnly := newTestServer(t, &Options{Transports: []string{transport.NameWebSocket}})
	live := ts.handshakePolling(t, "EIO=4&transport=polling")

	for _, tc := range []struct {
		name          string
		server        *testServer
		method, query string
		header        []string
		status        int
		body          string
	}{
		{"missing transport", ts, "GET", "EIO=4", nil, 400, code0},
		{"unknown transport", ts, "GET", "EIO=4&transport=carrier-pigeon", nil, 400, code0},
		{"polling on a websocket-only server", wsOnly, "GET", "EIO=4&transport=polling", nil, 400, code0},
		{"unknown sid GET", ts, "GET", "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", nil, 400, code1},
		{"unknown sid POST", ts, "POST", "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", nil, 400, code1},
		{"POST handshake", ts, "POST", "EIO=4&transport=polling", nil, 400, code2},
		{"PUT handshake", ts, "PUT", "EIO=4&transport=polling", nil, 400, code2},
		{"websocket handshake without Upgrade", ts, "GET", "EIO=4&transport=websocket", nil, 400, code3},
		{"websocket sid without Upgrade", ts, "GET", "EIO=4&transport=websocket&sid=" + live.sid, nil, 400, code3},
		{"AllowRequest refuses", ts, "GET", "EIO=4&transport=polling", []string{"X-Refuse", "1"}, 403, code4},
		{"cross-origin without CORS", ts, "GET", "EIO=4&transport=polling", []string{"Origin", "https://evil.example"}, 403, code4},
		{"missing EIO", ts, "GET", "transport=polling", nil, 400, code5},
		{"EIO=3", ts, "GET", "EIO=3&transport=polling", nil, 400, code5},
		{"EIO=5", ts, "GET", "EIO=5&transport=polling", nil, 400, code5},
		{"EIO not a number", ts, "GET", "EIO=four&transport=polling", nil, 400, code5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.server.request(t, tc.method, tc.query, "", tc.header...)
			requireError(t, r, tc.status, tc.body)
		})
	}

	// None of that touched the live session, and no session was created.
	assert.Equal(t, 1, ts.engine.Count())
	assert.Equal(t, 0, wsOnly.engine.Count())
	live.sess.Send(transport.TextPacket("still here"))
	assert.Equal(t, transport.TextPacket("still here"), live.recv(t))
}

func TestSameOriginAllowedWithoutCORS(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "", "Origin", ts.srv.URL)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Empty(t, r.header.Get("Access-Control-Allow-Origin"))

	// The same rule applies to WebSocket handshakes.
	_, resp, err := ts.dial(t, "EIO=4&transport=websocket", http.Header{"Origin": {"https://evil.example"}})
	require.Error(t, err)
	require.NotNil(t, resp)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	conn, _, err := ts.dial(t, "EIO=4&transport=websocket", http.Header{"Origin": {ts.srv.URL}})
	require.NoError(t, err)
	mt, data := readFrame(t, conn)
	assert.Equal(t, 1, mt)
	assert.Equal(t, byte('0'), data[0])
}

func TestCORS(t *testing.T) {
	t.Parallel()
	const origin = "https://app.example"
	t.Run("wildcard", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, &Options{CORS: &CORSOptions{AllowedOrigins: []string{"*"}}})
		r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "", "Origin", origin)
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
		assert.Empty(t, r.header.Get("Access-Control-Allow-Credentials"))

		r = ts.request(t, http.MethodOptions, "EIO=4&transport=polling", "",
			"Origin", origin,
			"Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "x-token")
		assert.Equal(t, http.StatusNoContent, r.status)
		assert.Equal(t, "*", r.header.Get("Access-Control-Allow-Origin"))
		assert.Contains(t, r.header.Get("Access-Control-Allow-Methods"), "POST")
		assert.Contains(t, r.header.Get("Access-Control-Allow-Methods"), "GET")
		assert.Equal(t, "x-token", r.header.Get("Access-Control-Allow-Headers"))
		assert.Empty(t, r.body)
		assert.Equal(t, 1, ts.engine.Count(), "a preflight opened a session")
	})
	t.Run("listed origin with credentials", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, &Options{CORS: &CORSOptions{
			AllowedOrigins:   []string{origin},
			AllowCredentials: true,
			MaxAge:           time.Hour,
		}})
		r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "", "Origin", origin)
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "true", r.header.Get("Access-Control-Allow-Credentials"))
		assert.Contains(t, r.header.Values("Vary"), "Origin")
		c := &testClient{ts: ts}
		c.setOpen(t, r.body)

		// Later requests of the session carry the headers too.
		r = c.post(t, "4hi", "Origin", origin)
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "true", r.header.Get("Access-Control-Allow-Credentials"))

		r = ts.request(t, http.MethodOptions, "EIO=4&transport=polling", "",
			"Origin", origin, "Access-Control-Request-Method", "POST")
		assert.Equal(t, http.StatusNoContent, r.status)
		assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "3600", r.header.Get("Access-Control-Max-Age"))

		// An origin not listed is refused, with no CORS headers.
		r = ts.request(t, http.MethodGet, "EIO=4&transport=polling", "", "Origin", "https://other.example")
		requireError(t, r, http.StatusForbidden, `{"code":4,"message":"Forbidden"}`)
		assert.Empty(t, r.header.Get("Access-Control-Allow-Origin"))
	})
	t.Run("wildcard with credentials echoes the origin", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, &Options{CORS: &CORSOptions{AllowedOrigins: []string{"*"}, AllowCredentials: true}})
		r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "", "Origin", origin)
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "true", r.header.Get("Access-Control-Allow-Credentials"))
	})
	t.Run("origin func", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, &Options{CORS: &CORSOptions{AllowOriginFunc: func(o string) bool { return o == origin }}})
		r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "", "Origin", origin)
		require.Equal(t, http.StatusOK, r.status)
		assert.Equal(t, origin, r.header.Get("Access-Control-Allow-Origin"))
		r = ts.request(t, http.MethodGet, "EIO=4&transport=polling", "", "Origin", "https://other.example")
		assert.Equal(t, http.StatusForbidden, r.status)
	})
	t.Run("websocket handshake", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, &Options{CORS: &CORSOptions{AllowedOrigins: []string{origin}}})
		conn, resp, err := ts.dial(t, "EIO=4&transport=websocket", http.Header{"Origin": {origin}})
		require.NoError(t, err)
		assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
		_, data := readFrame(t, conn)
		assert.Equal(t, byte('0'), data[0])
		_, resp, err = ts.dial(t, "EIO=4&transport=websocket", http.Header{"Origin": {"https://other.example"}})
		require.Error(t, err)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	})
}

func TestCookie(t *testing.T) {
	t.Parallel()
	opts := &Options{Cookie: &http.Cookie{Name: "io", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}}
	t.Run("polling", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, opts)
		r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "")
		require.Equal(t, http.StatusOK, r.status)
		c := &testClient{ts: ts}
		c.setOpen(t, r.body)
		assert.Equal(t, "io="+c.sid+"; Path=/; HttpOnly; SameSite=Lax", r.header.Get("Set-Cookie"))

		// Only the handshake sets it.
		r = c.post(t, "4x")
		require.Equal(t, http.StatusOK, r.status)
		assert.Empty(t, r.header.Get("Set-Cookie"))
		c.sess.Send(transport.TextPacket("y"))
		r = c.get(t)
		require.Equal(t, http.StatusOK, r.status)
		assert.Empty(t, r.header.Get("Set-Cookie"))
		assert.Equal(t, "io", opts.Cookie.Name, "the template was modified")
		assert.Empty(t, opts.Cookie.Value, "the template was modified")
	})
	t.Run("websocket", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, opts)
		conn, resp, err := ts.dial(t, "EIO=4&transport=websocket", nil)
		require.NoError(t, err)
		_, data := readFrame(t, conn)
		c := &testClient{ts: ts}
		c.setOpen(t, string(data))
		assert.Equal(t, "io="+c.sid+"; Path=/; HttpOnly; SameSite=Lax", resp.Header.Get("Set-Cookie"))
	})
	t.Run("unset", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, nil)
		r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "")
		require.Equal(t, http.StatusOK, r.status)
		assert.Empty(t, r.header.Get("Set-Cookie"))
	})
}

func TestPathPrefix(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{Path: "/engine.io"})
	assert.Equal(t, "/engine.io/", ts.engine.Path())
	r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "")
	assert.Equal(t, http.StatusOK, r.status)

	resp, err := ts.srv.Client().Get(ts.srv.URL + "/elsewhere/?EIO=4&transport=polling")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, 1, ts.engine.Count())
}

// TestHandshakeHeaderRoundTrip checks that the packed header gives back
// every key and value, whatever bytes they hold.
func TestHandshakeHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 300) // a length that takes two varint bytes
	for name, h := range map[string]http.Header{
		"empty":    {},
		"common":   {"User-Agent": {"Go"}, "Cookie": {"a=1; b=2"}, "X-Multi": {"one", "two", "three"}},
		"odd keys": {"A:b": {"c\nd"}, "": {""}, "\x80\xff": {"\x00"}},
		"long":     {long: {long, ""}, "K": {long + long}},
	} {
		t.Run(name, func(t *testing.T) {
			hs := Handshake{header: packHeader(h)}
			assert.Equal(t, h, hs.Header())
			got := hs.Header()
			got.Set("X-Changed", "1")
			assert.Equal(t, h, hs.Header(), "each Header is a new map")
		})
	}
	assert.Empty(t, Handshake{}.Header())
	// Corrupt input (only packHeader writes it) ends the header, no panic.
	assert.Equal(t, http.Header{"K": {"v"}}, Handshake{header: packHeader(http.Header{"K": {"v"}}) + "\x05ab"}.Header())
}
