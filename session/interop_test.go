package session_test

// Interop tests: the official npm engine.io-client (pinned in
// internal/nodetest/node) against session.Engine, directly and behind a
// real nginx. The Node scripts are internal/nodetest/node/engine-*.mjs; each
// asserts on the client side and exits non-zero with its reason, while the
// Go side asserts what the server saw.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/internal/nginxtest"
	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/ferryio/ferry/session"
	"github.com/ferryio/ferry/transport"
)

// interopPath is engine.io-client's default path.
const interopPath = "/engine.io/"

// A short ping interval, so that a test sees several heartbeat rounds in
// well under a second. Since the server pings again only PingInterval
// after a pong, a client that saw N pings answered at least N-1 of them.
//
// The ping timeout is longer: with 100 ms, sessions died of "ping timeout"
// in about a third of the runs on a 2-core machine shared with browser
// tests (load average 13), where a Node process may wait that long for the
// CPU. The timeout itself is tested by the engine's unit tests, with a
// fake clock.
const (
	fastPingInterval = 100 * time.Millisecond
	fastPingTimeout  = time.Second
)

// startEngine serves an Engine configured by opts on 127.0.0.1 and returns
// it with the server's base URL. The engine is closed before the server,
// so that parked long-polls are released and the server's Close does not
// wait for them.
func startEngine(t *testing.T, opts *session.Options) (*session.Engine, string) {
	t.Helper()
	o := *opts
	if o.Path == "" {
		o.Path = interopPath
	}
	e := session.NewEngine(&o)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { e.Close() })
	return e, srv.URL
}

// The echo app greets each session with a text and a binary message, sends
// every message it reads back unchanged, and closes the session when it
// reads the text "close-me".
var (
	greetingText   = "welcome ✓"
	greetingBinary = []byte{0xde, 0xad, 0xbe, 0xef, 0x00}
)

// echoApp records what each of its sessions saw.
type echoApp struct {
	sessions chan *echoSession // every session opened, in order

	mu  sync.Mutex
	all []*echoSession // guarded by mu: every session opened, for failure reports
}

// echoSession is one session of the echo app.
type echoSession struct {
	s      *session.Session
	closed chan struct{} // closed by OnClose

	mu        sync.Mutex
	received  []transport.Packet     // guarded by mu: messages read, copied
	upgrades  []session.UpgradeEvent // guarded by mu
	closeErr  *session.CloseError    // guarded by mu
	lastTrans string                 // guarded by mu: the transport when the session closed
}

// newEchoApp returns an app for at most max sessions. If t fails, it logs
// how each session ended, which the client cannot see.
func newEchoApp(t *testing.T, max int) *echoApp {
	a := &echoApp{sessions: make(chan *echoSession, max)}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, es := range a.all {
			es.mu.Lock()
			t.Logf("server session %s: closed with %v on %q; upgrades %v; read %d messages",
				es.s.ID(), es.closeErr, es.lastTrans, es.upgrades, len(es.received))
			es.mu.Unlock()
		}
	})
	return a
}

// onConnection is the app's session.Options.OnConnection.
func (a *echoApp) onConnection(s *session.Session) {
	es := &echoSession{s: s, closed: make(chan struct{})}
	s.OnMessage(func(p transport.Packet) {
		p.Data = bytes.Clone(p.Data)
		es.mu.Lock()
		es.received = append(es.received, p)
		es.mu.Unlock()
		if !p.Binary && string(p.Data) == "close-me" {
			s.Close()
			return
		}
		s.Send(p)
	})
	s.OnUpgrade(func(e session.UpgradeEvent) {
		es.mu.Lock()
		es.upgrades = append(es.upgrades, e)
		es.mu.Unlock()
	})
	s.OnClose(func(err *session.CloseError) {
		es.mu.Lock()
		es.closeErr = err
		es.lastTrans = s.Transport()
		es.mu.Unlock()
		close(es.closed)
	})
	// Record the session before anything is written to the client (over
	// WebSocket, Send starts writing at once), so that a test that sees
	// the client's first frame finds the session.
	a.mu.Lock()
	a.all = append(a.all, es)
	a.mu.Unlock()
	select {
	case a.sessions <- es:
	default:
		panic("echoApp: more sessions than expected")
	}
	s.Send(transport.TextPacket(greetingText), transport.BinaryPacket(greetingBinary))
}

// only returns the app's single session, failing t if there was not
// exactly one.
func (a *echoApp) only(t *testing.T) *echoSession {
	t.Helper()
	require.Len(t, a.sessions, 1, "sessions opened")
	return <-a.sessions
}

// waitClosed waits for the session's close callback and returns its error.
func (es *echoSession) waitClosed(t *testing.T) *session.CloseError {
	t.Helper()
	select {
	case <-es.closed:
	case <-time.After(5 * time.Second):
		t.Fatalf("session %s did not close", es.s.ID())
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.closeErr
}

func (es *echoSession) snapshot() (received []transport.Packet, upgrades []session.UpgradeEvent, lastTransport string) {
	es.mu.Lock()
	defer es.mu.Unlock()
	return es.received, es.upgrades, es.lastTrans
}

// requireMessages checks that got holds exactly want, in order, each of
// its kind: a string is a text message, a []byte a binary one.
func requireMessages(t *testing.T, want []any, got []transport.Packet) {
	t.Helper()
	require.Len(t, got, len(want), "messages read: %v", got)
	for i, w := range want {
		switch w := w.(type) {
		case string:
			assert.False(t, got[i].Binary, "message %d should be text", i)
			assert.Equal(t, w, string(got[i].Data), "message %d", i)
		case []byte:
			assert.True(t, got[i].Binary, "message %d should be binary", i)
			assert.Equal(t, w, got[i].Data, "message %d", i)
		}
	}
}

// TestInteropPolling covers engine.io-client with transports: ["polling"]:
// text and binary both ways, five heartbeat rounds at 100 ms, and a clean
// close from either side.
func TestInteropPolling(t *testing.T) {
	t.Parallel()
	// What engine-polling.mjs sends, in order.
	sent := []any{"hello €ñ 日本", []byte{0x00, 0x01, 0x02, 0x1e, 0xfd, 0xfe, 0xff}, "", []byte{}}

	t.Run("client-close", func(t *testing.T) {
		t.Parallel()
		app := newEchoApp(t, 1)
		_, url := startEngine(t, &session.Options{
			PingInterval: fastPingInterval,
			PingTimeout:  fastPingTimeout,
			OnConnection: app.onConnection,
		})
		out := nodetest.Run(t, 20*time.Second, "engine-polling.mjs", []string{url, "client-close"})
		t.Logf("client: %s", strings.TrimSpace(out))

		es := app.only(t)
		err := es.waitClosed(t)
		require.NotNil(t, err)
		assert.Equal(t, session.ReasonTransportClose, err.Reason, "close reason: %v", err)
		assert.Equal(t, "transport close", err.Reason.String())
		received, upgrades, last := es.snapshot()
		requireMessages(t, sent, received)
		assert.Empty(t, upgrades, "a polling-only client must not upgrade")
		assert.Equal(t, transport.NamePolling, last)
	})

	t.Run("server-close", func(t *testing.T) {
		t.Parallel()
		app := newEchoApp(t, 1)
		_, url := startEngine(t, &session.Options{
			PingInterval: fastPingInterval,
			PingTimeout:  fastPingTimeout,
			OnConnection: app.onConnection,
		})
		out := nodetest.Run(t, 20*time.Second, "engine-polling.mjs", []string{url, "server-close"})
		t.Logf("client: %s", strings.TrimSpace(out))

		es := app.only(t)
		err := es.waitClosed(t)
		require.NotNil(t, err)
		assert.Equal(t, session.ReasonForcedClose, err.Reason, "close reason: %v", err)
		received, upgrades, last := es.snapshot()
		requireMessages(t, append(sent, "close-me"), received)
		assert.Empty(t, upgrades)
		assert.Equal(t, transport.NamePolling, last)
	})
}

// The ordering test streams numbered messages both ways across the upgrade:
// message i is the text "i" when i is even, and i as 4 big-endian bytes,
// binary, when it is odd.
func numbered(i int) transport.Packet {
	if i%2 == 0 {
		return transport.TextPacket(strconv.Itoa(i))
	}
	return transport.BinaryPacket(binary.BigEndian.AppendUint32(nil, uint32(i)))
}

// streamWindow is how far the server's stream may run ahead of the
// client's: the server sends message i only once it has read message
// i-streamWindow. This spreads the server's stream over the client's, so
// that both cross the upgrade, and bounds each session's outbound queue to
// streamWindow packets plus a ping or two, far below the default
// MaxQueuedPackets (65536), which therefore need not be raised.
const streamWindow = 1000

// streamSession is one session of the streaming app: it checks the
// client's stream as it arrives and sends its own from a goroutine.
type streamSession struct {
	s        *session.Session
	count    int
	progress chan struct{} // signal (capacity 1): a message was read
	closed   chan struct{} // closed by OnClose

	mu            sync.Mutex
	next          int                 // guarded by mu: the number expected next
	sent          int                 // guarded by mu: messages queued with Send
	err           error               // guarded by mu: the first thing wrong
	upgraded      bool                // guarded by mu: UpgradeDone seen
	recvAtUpgrade int                 // guarded by mu: next when UpgradeDone came
	sentAtUpgrade int                 // guarded by mu: sent when UpgradeDone came
	closeErr      *session.CloseError // guarded by mu
}

// streamApp opens a streamSession for each session.
type streamApp struct {
	count    int
	sessions chan *streamSession

	mu  sync.Mutex
	all []*streamSession // guarded by mu: every session opened, for failure reports
}

func (a *streamApp) onConnection(s *session.Session) {
	st := &streamSession{
		s:        s,
		count:    a.count,
		progress: make(chan struct{}, 1),
		closed:   make(chan struct{}),
	}
	s.OnMessage(st.read)
	s.OnUpgrade(func(e session.UpgradeEvent) {
		st.mu.Lock()
		defer st.mu.Unlock()
		switch e.Phase {
		case session.UpgradeDone:
			st.upgraded = true
			st.recvAtUpgrade, st.sentAtUpgrade = st.next, st.sent
		case session.UpgradeAborted:
			st.failLocked(fmt.Errorf("upgrade aborted: %v", e.Err))
		}
	})
	s.OnClose(func(err *session.CloseError) {
		st.mu.Lock()
		st.closeErr = err
		st.mu.Unlock()
		close(st.closed)
	})
	a.mu.Lock()
	a.all = append(a.all, st)
	a.mu.Unlock()
	select {
	case a.sessions <- st:
	default:
		panic("streamApp: more sessions than expected")
	}
	// The stream starts at once. Its first packets are queued before the
	// handshake response is written, which therefore carries them: the
	// client reads part of the stream over polling whatever the
	// scheduling, before it can upgrade.
	if st.sendUpTo(min(st.count, handshakeBurst)) {
		go st.stream()
	}
}

// handshakeBurst is how many messages the server queues before answering
// the handshake.
const handshakeBurst = 100

// read checks one message of the client's stream.
func (st *streamSession) read(p transport.Packet) {
	st.mu.Lock()
	if st.err == nil {
		want := numbered(st.next)
		switch {
		case st.next >= st.count:
			st.failLocked(fmt.Errorf("message beyond the %d expected: %v", st.count, p))
		case p.Binary != want.Binary || !bytes.Equal(p.Data, want.Data):
			st.failLocked(fmt.Errorf("message %d: got %v %q, want %v %q", st.next, p, p.Data, want, want.Data))
		default:
			st.next++
		}
	}
	st.mu.Unlock()
	select {
	case st.progress <- struct{}{}:
	default:
	}
}

// failLocked records the first error. Reading stops checking after it.
func (st *streamSession) failLocked(err error) {
	if st.err == nil {
		st.err = err
	}
}

// sendUpTo queues the messages from st.sent up to limit. It reports false,
// recording why, if the session refused one.
func (st *streamSession) sendUpTo(limit int) bool {
	st.mu.Lock()
	i := st.sent
	st.mu.Unlock()
	for ; i < limit; i++ {
		if err := st.s.Send(numbered(i)); err != nil {
			st.mu.Lock()
			st.failLocked(fmt.Errorf("Send(%d): %w", i, err))
			st.mu.Unlock()
			return false
		}
		st.mu.Lock()
		st.sent = i + 1
		st.mu.Unlock()
	}
	return true
}

// stream sends the rest of the count numbered messages, never more than
// streamWindow ahead of what it has read; it waits on the read signal, not
// in a loop, and ends with the session.
func (st *streamSession) stream() {
	for {
		st.mu.Lock()
		limit := min(st.count, st.next+streamWindow)
		st.mu.Unlock()
		if !st.sendUpTo(limit) || limit == st.count {
			return
		}
		select {
		case <-st.progress:
		case <-st.s.Done():
			return
		}
	}
}

// report logs, for a failed test, what each session that went wrong saw on
// the server side, which the client cannot see. It does not consume
// a.sessions.
func (a *streamApp) report(t *testing.T) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, st := range a.all {
		st.mu.Lock()
		if st.err != nil || st.next != st.count || st.closeErr == nil || st.closeErr.Reason != session.ReasonTransportClose {
			t.Logf("server session %s: read %d, sent %d, upgraded %v (at read %d, sent %d), error %v, closed with %v",
				st.s.ID(), st.next, st.sent, st.upgraded, st.recvAtUpgrade, st.sentAtUpgrade, st.err, st.closeErr)
		}
		st.mu.Unlock()
	}
}

// orderingReport is the JSON line engine-upgrade-order.mjs prints.
type orderingReport struct {
	Sessions      int
	Count         int
	ElapsedMs     int
	SentAtUpgrade [2]int // min, max over the sessions
	RecvAtUpgrade [2]int
}

// TestInteropUpgradeOrdering streams 10,000 numbered messages each way,
// text and binary mixed, on 50 sessions at once, each of which upgrades
// from long-polling to WebSocket in the middle of both streams. Both ends
// check that every message arrives exactly once and in order.
func TestInteropUpgradeOrdering(t *testing.T) {
	// Not parallel: it loads both cores, and the other interop tests run
	// 100 ms heartbeats.
	const (
		sessions = 50
		count    = 10000
	)
	app := &streamApp{count: count, sessions: make(chan *streamSession, sessions)}
	_, url := startEngine(t, &session.Options{
		OnConnection: app.onConnection,
		// This test checks ordering, not the cut-off of slow clients (the
		// engine's unit tests do): on a 2-core machine shared with other
		// test binaries, the Node process can be starved of CPU for
		// seconds, and the default 10 s write and upgrade deadlines must
		// not end its sessions.
		WriteTimeout:   time.Minute,
		UpgradeTimeout: time.Minute,
	})
	t.Cleanup(func() {
		if t.Failed() {
			app.report(t)
		}
	})

	start := time.Now()
	out := nodetest.Run(t, 2*time.Minute, "engine-upgrade-order.mjs",
		[]string{url, strconv.Itoa(sessions), strconv.Itoa(count)})
	t.Logf("client finished in %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
	var report orderingReport
	require.NoError(t, json.Unmarshal([]byte(lastLine(out)), &report), "client report: %s", out)
	assert.Equal(t, sessions, report.Sessions)
	assert.Equal(t, count, report.Count)

	require.Len(t, app.sessions, sessions, "sessions opened")
	close(app.sessions)
	var minRecv, maxRecv, minSent, maxSent = count, 0, count, 0
	for st := range app.sessions {
		select {
		case <-st.closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("session %s did not close", st.s.ID())
		}
		st.mu.Lock()
		id := st.s.ID()
		assert.NoError(t, st.err, "session %s", id)
		assert.Equal(t, count, st.next, "session %s: messages read in order", id)
		assert.Equal(t, count, st.sent, "session %s: messages sent", id)
		assert.True(t, st.upgraded, "session %s never upgraded", id)
		// The upgrade must land inside both streams, or this test would not
		// be testing ordering across it.
		assert.Greater(t, st.recvAtUpgrade, 0, "session %s: upgraded before reading anything", id)
		assert.Less(t, st.recvAtUpgrade, count, "session %s: upgraded after reading everything", id)
		assert.Greater(t, st.sentAtUpgrade, 0, "session %s", id)
		assert.Less(t, st.sentAtUpgrade, count, "session %s: upgraded after sending everything", id)
		if assert.NotNil(t, st.closeErr, "session %s", id) {
			assert.Equal(t, session.ReasonTransportClose, st.closeErr.Reason, "session %s: %v", id, st.closeErr)
		}
		minRecv, maxRecv = min(minRecv, st.recvAtUpgrade), max(maxRecv, st.recvAtUpgrade)
		minSent, maxSent = min(minSent, st.sentAtUpgrade), max(maxSent, st.sentAtUpgrade)
		st.mu.Unlock()
	}
	t.Logf("server: upgrade came after reading %d–%d and sending %d–%d of %d messages", minRecv, maxRecv, minSent, maxSent, count)
}

// lastLine returns the last non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// TestInteropWebSocketOnly covers engine.io-client with
// transports: ["websocket"] against an engine that allows only WebSocket.
func TestInteropWebSocketOnly(t *testing.T) {
	t.Parallel()
	newEngine := func(t *testing.T, app *echoApp) string {
		_, url := startEngine(t, &session.Options{
			Transports:   []string{transport.NameWebSocket},
			PingInterval: fastPingInterval,
			PingTimeout:  fastPingTimeout,
			OnConnection: app.onConnection,
		})
		return url
	}

	sent := []any{"hello €ñ 日本", []byte{0x00, 0x01, 0x02, 0x1e, 0xfd, 0xfe, 0xff}, "", []byte{}}

	t.Run("client-close", func(t *testing.T) {
		t.Parallel()
		app := newEchoApp(t, 1)
		url := newEngine(t, app)
		out := nodetest.Run(t, 20*time.Second, "engine-websocket.mjs", []string{url, "client-close"})
		t.Logf("client: %s", strings.TrimSpace(out))

		es := app.only(t)
		err := es.waitClosed(t)
		require.NotNil(t, err)
		assert.Equal(t, session.ReasonTransportClose, err.Reason, "close reason: %v", err)
		received, upgrades, last := es.snapshot()
		requireMessages(t, sent, received)
		assert.Empty(t, upgrades)
		assert.Equal(t, transport.NameWebSocket, last)
	})

	t.Run("server-close", func(t *testing.T) {
		t.Parallel()
		app := newEchoApp(t, 1)
		url := newEngine(t, app)
		out := nodetest.Run(t, 20*time.Second, "engine-websocket.mjs", []string{url, "server-close"})
		t.Logf("client: %s", strings.TrimSpace(out))

		es := app.only(t)
		err := es.waitClosed(t)
		require.NotNil(t, err)
		assert.Equal(t, session.ReasonForcedClose, err.Reason, "close reason: %v", err)
		received, upgrades, last := es.snapshot()
		requireMessages(t, append(sent, "close-me"), received)
		assert.Empty(t, upgrades)
		assert.Equal(t, transport.NameWebSocket, last)
	})

	t.Run("first-frame", func(t *testing.T) {
		t.Parallel()
		app := newEchoApp(t, 1)
		url := newEngine(t, app)
		conn, res, err := gorilla.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+interopPath+"?EIO=4&transport=websocket", nil)
		require.NoError(t, err)
		defer conn.Close()
		require.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))

		kind, frame, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, gorilla.TextMessage, kind)
		require.True(t, strings.HasPrefix(string(frame), "0{"), "first frame %q is not an open packet", frame)
		var open map[string]any
		require.NoError(t, json.Unmarshal(frame[1:], &open))
		assert.Len(t, open, 5, "open packet keys: %v", open)
		assert.Equal(t, []any{}, open["upgrades"])
		assert.Equal(t, float64(fastPingInterval.Milliseconds()), open["pingInterval"])
		assert.Equal(t, float64(fastPingTimeout.Milliseconds()), open["pingTimeout"])
		assert.Equal(t, float64(1e6), open["maxPayload"])
		es := app.only(t)
		assert.Equal(t, es.s.ID(), open["sid"])

		// The greeting follows, one packet per frame.
		kind, frame, err = conn.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, gorilla.TextMessage, kind)
		assert.Equal(t, "4"+greetingText, string(frame))
		kind, frame, err = conn.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, gorilla.BinaryMessage, kind)
		assert.Equal(t, greetingBinary, frame)
	})

	t.Run("polling-refused", func(t *testing.T) {
		t.Parallel()
		app := newEchoApp(t, 1)
		e := session.NewEngine(&session.Options{
			Path:         interopPath,
			Transports:   []string{transport.NameWebSocket},
			OnConnection: app.onConnection,
		})
		srv := httptest.NewServer(e)
		defer srv.Close()
		defer e.Close()
		res, err := srv.Client().Get(srv.URL + interopPath + "?EIO=4&transport=polling")
		require.NoError(t, err)
		defer res.Body.Close()
		body := new(bytes.Buffer)
		_, err = body.ReadFrom(res.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Equal(t, "application/json", res.Header.Get("Content-Type"))
		assert.JSONEq(t, `{"code":0,"message":"Transport unknown"}`, body.String())
		assert.Empty(t, app.sessions, "no session may open")
		assert.Zero(t, e.Count())
	})
}

// proxyRounds is how many heartbeat rounds engine-proxy.mjs exchanges
// messages for.
const proxyRounds = 5

// proxyMessages is what engine-proxy.mjs sends, in order.
func proxyMessages() []any {
	var want []any
	for r := 1; r <= proxyRounds; r++ {
		want = append(want, fmt.Sprintf("round %d", r), []byte{byte(r), 0x1e, byte(255 - r)})
	}
	return want
}

// TestInteropNginx runs engine.io-client through a real nginx, one that
// forwards WebSocket upgrades and one that does not.
func TestInteropNginx(t *testing.T) {
	t.Parallel()
	nginxtest.Binary(t) // fails with "run `make deps`" if nginx is missing

	t.Run("forwards-upgrades", func(t *testing.T) {
		t.Parallel()
		app := newEchoApp(t, 1)
		_, url := startEngine(t, &session.Options{
			PingInterval: fastPingInterval,
			PingTimeout:  fastPingTimeout,
			OnConnection: app.onConnection,
		})
		proxy := nginxtest.StartProxy(t, url, true)
		out := nodetest.Run(t, 20*time.Second, "engine-proxy.mjs", []string{proxy, "upgrade", strconv.Itoa(proxyRounds)})
		t.Logf("client: %s", strings.TrimSpace(out))

		es := app.only(t)
		err := es.waitClosed(t)
		require.NotNil(t, err)
		assert.Equal(t, session.ReasonTransportClose, err.Reason, "close reason: %v", err)
		received, upgrades, last := es.snapshot()
		requireMessages(t, proxyMessages(), received)
		require.Len(t, upgrades, 2, "upgrade events: %v", upgrades)
		assert.Equal(t, session.UpgradeStarted, upgrades[0].Phase)
		assert.Equal(t, session.UpgradeDone, upgrades[1].Phase)
		assert.Equal(t, transport.NameWebSocket, last)
	})

	t.Run("no-upgrades", func(t *testing.T) {
		t.Parallel()
		app := newEchoApp(t, 1)
		_, url := startEngine(t, &session.Options{
			PingInterval: fastPingInterval,
			PingTimeout:  fastPingTimeout,
			OnConnection: app.onConnection,
		})
		proxy := nginxtest.StartProxy(t, url, false)
		out := nodetest.Run(t, 20*time.Second, "engine-proxy.mjs", []string{proxy, "no-upgrade", strconv.Itoa(proxyRounds)})
		t.Logf("client: %s", strings.TrimSpace(out))

		es := app.only(t)
		err := es.waitClosed(t)
		require.NotNil(t, err)
		assert.Equal(t, session.ReasonTransportClose, err.Reason, "close reason: %v", err)
		received, upgrades, last := es.snapshot()
		requireMessages(t, proxyMessages(), received)
		// The WebSocket handshake reaches the engine as a plain GET with
		// transport=websocket, which it refuses (400, code 3) before an
		// upgrade can start.
		assert.Empty(t, upgrades, "the upgrade should never have started")
		assert.Equal(t, transport.NamePolling, last)
	})
}
