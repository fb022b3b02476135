package session

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

func TestPerMessageDeflateNegotiated(t *testing.T) {
	// The option reaches the WebSocket transport: the extension is
	// accepted on a WebSocket handshake and on an upgrade, and declined
	// without it.
	t.Parallel()
	const accepted = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	for _, tc := range []struct {
		name string
		opts *Options
		want string
	}{
		{"default", nil, ""},
		{"on", &Options{PerMessageDeflate: &DeflateOptions{}}, accepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, tc.opts)
			_, resp, err := ts.dial(t, "EIO=4&transport=websocket", nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, resp.Header.Get("Sec-WebSocket-Extensions"), "handshake")
			c := ts.handshakePolling(t, "EIO=4&transport=polling")
			_, resp, err = ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.want, resp.Header.Get("Sec-WebSocket-Extensions"), "upgrade")
		})
	}
}

func TestPerMessageDeflateMessages(t *testing.T) {
	// Large and small messages, marked NoCompress or not, arrive intact
	// both ways over every transport.
	t.Parallel()
	big := strings.Repeat(`{"user":"ferry","text":"hello"},`, 200)
	run(t, &Options{PerMessageDeflate: &DeflateOptions{}}, func(t *testing.T, c *testClient) {
		plain := transport.TextPacket(big)
		plain.NoCompress = true
		out := []transport.Packet{transport.TextPacket(big), plain, transport.TextPacket("small"), transport.BinaryPacket([]byte(big))}
		require.NoError(t, c.sess.Send(out...))
		for _, want := range out {
			got := c.recv(t)
			assert.Equal(t, want.Binary, got.Binary)
			assert.Equal(t, string(want.Data), string(got.Data))
		}
		c.send(t, transport.TextPacket(big), transport.BinaryPacket([]byte(big)))
		for _, binary := range []bool{false, true} {
			got := c.ts.nextMessage(t)
			assert.Equal(t, binary, got.Binary)
			assert.Equal(t, big, string(got.Data))
		}
	})
}
