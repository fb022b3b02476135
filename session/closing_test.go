package session

import (
	"net/http"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// An abrupt end of a WebSocket's TCP connection (no close frame) is a
// "transport close", as the reference server reports it.
func TestWebSocketAbruptCloseIsTransportClose(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	for _, mode := range []string{modeWebSocket, modeUpgrade} {
		c := ts.connect(t, mode)
		require.NoError(t, c.ws.NetConn().Close())
		ce := waitClosed(t, c.sess)
		require.Equal(t, ReasonTransportClose, ce.Reason, mode)
		require.ErrorIs(t, ce, transport.ErrPeerClosed)
	}
}

// A graceful close that lands while the client has paused polling to commit
// an upgrade lets the upgrade finish, and the queued packets and the close
// packet reach the client over the WebSocket, as with the reference server.
func TestGracefulCloseDuringUpgrade(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.handshakePolling(t, "EIO=4&transport=polling")
	conn, resp, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	writeText(t, conn, "2probe")
	_, data := readFrame(t, conn)
	require.Equal(t, "3probe", string(data))
	// Drain the long-poll until it is released with a noop: the client has
	// now paused polling.
	for {
		pkts := c.poll(t)
		if pkts[len(pkts)-1].Type == transport.Noop {
			break
		}
	}

	require.NoError(t, c.sess.Send(transport.TextPacket("last words")))
	require.NoError(t, c.sess.Close())
	writeText(t, conn, "5")

	var got []string
	for {
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(waitFor)))
		mt, data, err := conn.ReadMessage()
		if err != nil {
			require.True(t, gorilla.IsCloseError(err, gorilla.CloseNoStatusReceived), "%v", err)
			break
		}
		require.Equal(t, gorilla.TextMessage, mt)
		got = append(got, string(data))
	}
	require.Equal(t, []string{"4last words", "1"}, got)
	waitClosed(t, c.sess)
	require.Equal(t, ReasonForcedClose, Reason(c.sess.Err()))
	require.Nil(t, ts.engine.Session(c.sid), "the registry forgets the session")
}
