package session

import (
	"errors"
	"net/http"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

var errTestRefused = errors.New("refused by the test")

func TestUpgrade(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	require.NoError(t, c.sess.Send(transport.TextPacket("before")))
	assert.Equal(t, []string{"4before"}, wire(c.poll(t)...))

	// A long-poll is parked when the probe starts.
	parked := c.parkGET(t)
	conn, resp, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, UpgradeEvent{Phase: UpgradeStarted, Transport: "websocket"}, ts.nextUpgrade(t))
	assert.Equal(t, transport.NamePolling, c.sess.Transport())

	writeText(t, conn, "2probe")
	mt, data := readFrame(t, conn)
	assert.Equal(t, gorilla.TextMessage, mt)
	assert.Equal(t, "3probe", string(data))
	// The parked long-poll is released with a noop, and so is the next.
	assert.Equal(t, "6", (<-parked).body)
	assert.Equal(t, "6", c.get(t).body)

	// Packets sent before the client commits wait for the WebSocket.
	require.NoError(t, c.sess.Send(transport.TextPacket("during"), transport.BinaryPacket([]byte{7})))
	writeText(t, conn, "5")
	assert.Equal(t, UpgradeEvent{Phase: UpgradeDone, Transport: "websocket"}, ts.nextUpgrade(t))
	assert.Equal(t, transport.NameWebSocket, c.sess.Transport())
	mt, data = readFrame(t, conn)
	assert.Equal(t, gorilla.TextMessage, mt)
	assert.Equal(t, "4during", string(data))
	mt, data = readFrame(t, conn)
	assert.Equal(t, gorilla.BinaryMessage, mt)
	assert.Equal(t, []byte{7}, data)

	// The session lives on the WebSocket now.
	writeText(t, conn, "4after")
	assert.Equal(t, transport.TextPacket("after"), ts.nextMessage(t))
	require.NoError(t, c.sess.Send(transport.TextPacket("after")))
	_, data = readFrame(t, conn)
	assert.Equal(t, "4after", string(data))

	// Long-polling requests for the sid are a transport mismatch.
	requireError(t, c.get(t), http.StatusBadRequest, `{"code":3,"message":"Bad request"}`)
	requireError(t, c.post(t, "4x"), http.StatusBadRequest, `{"code":3,"message":"Bad request"}`)
	require.NoError(t, c.sess.Err())
	assert.Empty(t, ts.upgrades)
}

func TestUpgradeAbortedByUnexpectedPacket(t *testing.T) {
	t.Parallel()
	for name, frames := range map[string][]string{
		"message instead of probe": {"4hello"},
		"upgrade before probe":     {"5"},
		"probe twice":              {"2probe", "2probe"},
		"pong":                     {"2probe", "3"},
		"message after probe":      {"2probe", "4hello"},
		"ping without probe":       {"2"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil)
			c := ts.connect(t, modePolling)
			conn, _, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
			require.NoError(t, err)
			assert.Equal(t, UpgradeStarted, ts.nextUpgrade(t).Phase)
			for _, f := range frames {
				writeText(t, conn, f)
			}
			requireClosedConn(t, conn)
			e := ts.nextUpgrade(t)
			assert.Equal(t, UpgradeAborted, e.Phase)
			require.ErrorIs(t, e.Err, errUnexpectedProbePacket)

			// Long-polling carries on: nothing from the probe was delivered,
			// and the long-poll is no longer released with noops.
			require.NoError(t, c.sess.Err())
			assert.Empty(t, ts.msgs)
			assert.Equal(t, transport.NamePolling, c.sess.Transport())
			require.NoError(t, c.sess.Send(transport.TextPacket("still polling")))
			assert.Equal(t, []string{"4still polling"}, wire(c.poll(t)...))
			c.send(t, transport.TextPacket("up"))
			assert.Equal(t, transport.TextPacket("up"), ts.nextMessage(t))

			// A later upgrade succeeds.
			c.upgrade(t)
			require.NoError(t, c.sess.Send(transport.TextPacket("ws")))
			assert.Equal(t, transport.TextPacket("ws"), c.recv(t))
		})
	}
}

func TestUpgradeProbeClosedByClient(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	conn, _, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	assert.Equal(t, UpgradeStarted, ts.nextUpgrade(t).Phase)
	writeText(t, conn, "2probe")
	_, data := readFrame(t, conn)
	require.Equal(t, "3probe", string(data))
	conn.Close()
	assert.Equal(t, UpgradeAborted, ts.nextUpgrade(t).Phase)
	require.NoError(t, c.sess.Err())
	require.NoError(t, c.sess.Send(transport.TextPacket("x")))
	assert.Equal(t, []string{"4x"}, wire(c.poll(t)...))
}

func TestUpgradeTimeout(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{UpgradeTimeout: 50 * time.Millisecond})
	c := ts.connect(t, modePolling)
	// The upgrade timer starts after this, when the WebSocket request arrives.
	started := time.Now()
	conn, _, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	assert.Equal(t, UpgradeStarted, ts.nextUpgrade(t).Phase)
	writeText(t, conn, "2probe")
	_, data := readFrame(t, conn)
	require.Equal(t, "3probe", string(data))
	assert.Equal(t, "6", c.get(t).body)

	// The client never sends "5".
	e := ts.nextUpgrade(t)
	assert.GreaterOrEqual(t, time.Since(started), 50*time.Millisecond)
	assert.Equal(t, UpgradeAborted, e.Phase)
	require.ErrorIs(t, e.Err, ErrUpgradeTimeout)
	requireClosedConn(t, conn)

	require.NoError(t, c.sess.Err())
	assert.Equal(t, transport.NamePolling, c.sess.Transport())
	require.NoError(t, c.sess.Send(transport.TextPacket("x")))
	assert.Equal(t, []string{"4x"}, wire(c.poll(t)...))
}

func TestUpgradeSecondWebSocket(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)

	// While a probe is running, another WebSocket is accepted and closed.
	probe, _, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	assert.Equal(t, UpgradeStarted, ts.nextUpgrade(t).Phase)
	extra, resp, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	requireClosedConn(t, extra)

	// The probe is unharmed and completes.
	writeText(t, probe, "2probe")
	_, data := readFrame(t, probe)
	require.Equal(t, "3probe", string(data))
	assert.Equal(t, "6", c.get(t).body)
	writeText(t, probe, "5")
	assert.Equal(t, UpgradeDone, ts.nextUpgrade(t).Phase)

	// After the upgrade, another WebSocket is accepted and closed too.
	extra, _, err = ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	requireClosedConn(t, extra)
	assert.Empty(t, ts.upgrades)

	require.NoError(t, c.sess.Err())
	require.NoError(t, c.sess.Send(transport.TextPacket("on the first")))
	_, data = readFrame(t, probe)
	assert.Equal(t, "4on the first", string(data))
	writeText(t, probe, "4reply")
	assert.Equal(t, transport.TextPacket("reply"), ts.nextMessage(t))
}

func TestUpgradeRefused(t *testing.T) {
	t.Parallel()
	t.Run("WebSocket-only session", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, nil)
		c := ts.connect(t, modeWebSocket)
		extra, _, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
		require.NoError(t, err)
		requireClosedConn(t, extra)
		require.NoError(t, c.sess.Err())
		require.NoError(t, c.sess.Send(transport.TextPacket("x")))
		assert.Equal(t, transport.TextPacket("x"), c.recv(t))
		assert.Empty(t, ts.upgrades)
	})
	t.Run("DisableUpgrades", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, &Options{DisableUpgrades: true})
		c := ts.connect(t, modePolling)
		extra, _, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
		require.NoError(t, err)
		requireClosedConn(t, extra)
		require.NoError(t, c.sess.Err())
		assert.Equal(t, transport.NamePolling, c.sess.Transport())
		assert.Empty(t, ts.upgrades)
	})
	t.Run("unknown sid", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, nil)
		_, resp, err := ts.dial(t, "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA", nil)
		require.ErrorIs(t, err, gorilla.ErrBadHandshake)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	})
	t.Run("AllowRequest", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, &Options{AllowRequest: func(r *http.Request) error {
			if r.URL.Query().Get("sid") != "" {
				return errTestRefused
			}
			return nil
		}})
		c := ts.connect(t, modePolling)
		_, resp, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
		require.ErrorIs(t, err, gorilla.ErrBadHandshake)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		require.NoError(t, c.sess.Err())
		assert.Empty(t, ts.upgrades)
	})
	t.Run("bad Sec-WebSocket-Key", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, nil)
		c := ts.connect(t, modePolling)
		for _, query := range []string{"EIO=4&transport=websocket&sid=" + c.sid, "EIO=4&transport=websocket"} {
			r := ts.request(t, http.MethodGet, query, "",
				"Connection", "Upgrade",
				"Upgrade", "websocket",
				"Sec-WebSocket-Version", "13",
				"Sec-WebSocket-Key", "not base64 of 16 bytes")
			assert.Equal(t, http.StatusBadRequest, r.status, "%s: %s", query, r.body)
		}
		assert.Empty(t, ts.upgrades)
		assert.Equal(t, 1, ts.engine.Count())
		// The session is unharmed and may still upgrade.
		require.NoError(t, c.sess.Send(transport.TextPacket("x")))
		assert.Equal(t, []string{"4x"}, wire(c.poll(t)...))
		c.upgrade(t)
		require.NoError(t, c.sess.Send(transport.TextPacket("y")))
		assert.Equal(t, transport.TextPacket("y"), c.recv(t))
	})
}

func TestUpgradeAbortedBySessionClose(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.connect(t, modePolling)
	conn, _, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	assert.Equal(t, UpgradeStarted, ts.nextUpgrade(t).Phase)
	writeText(t, conn, "2probe")
	_, data := readFrame(t, conn)
	require.Equal(t, "3probe", string(data))

	// A graceful close lets the upgrade run on (see
	// TestGracefulCloseDuringUpgrade); a client still polling gets the close
	// packet over long-polling, and the unfinished upgrade is then abandoned.
	require.NoError(t, c.sess.Close())
	assert.Equal(t, []string{"1"}, wire(c.recvUntilClosed(t)...))
	e := ts.nextUpgrade(t)
	assert.Equal(t, UpgradeAborted, e.Phase)
	assert.Equal(t, ReasonForcedClose, Reason(e.Err))
	requireClosedConn(t, conn)
}

func TestUpgradeHeartbeatDuringProbe(t *testing.T) {
	t.Parallel()
	// A ping due while probing goes out over long-polling, and its pong may
	// come back either way; the session stays open and finishes upgrading.
	ts := newTestServer(t, &Options{PingInterval: 30 * time.Millisecond, PingTimeout: time.Second})
	c := ts.connect(t, modePolling)
	conn, _, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	writeText(t, conn, "2probe")
	_, data := readFrame(t, conn)
	require.Equal(t, "3probe", string(data))
	// The ping arrives within PingInterval on a long-poll that waits for it.
	pkts := c.poll(t)
	for len(pkts) == 1 && pkts[0].Type == transport.Noop {
		pkts = c.poll(t)
	}
	assert.Equal(t, []string{"2"}, wire(pkts...))
	c.send(t, transport.Packet{Type: transport.Pong})
	writeText(t, conn, "5")
	assert.Equal(t, UpgradeStarted, ts.nextUpgrade(t).Phase)
	assert.Equal(t, UpgradeDone, ts.nextUpgrade(t).Phase)
	require.NoError(t, c.sess.Err())
}
