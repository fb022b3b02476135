package websocket

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// clientFrames returns text messages as masked client frames, to be sent
// in one write so that they reach the server together.
func clientFrames(msgs ...string) []byte {
	var out []byte
	mask := [4]byte{1, 2, 3, 4}
	for _, m := range msgs {
		out = append(out, 0x81) // FIN, text
		switch n := len(m); {
		case n < 126:
			out = append(out, 0x80|byte(n))
		default:
			out = append(out, 0x80|126)
			out = binary.BigEndian.AppendUint16(out, uint16(n))
		}
		out = append(out, mask[:]...)
		for i := range len(m) {
			out = append(out, m[i]^mask[i%4])
		}
	}
	return out
}

func TestEmitFromLongHandlerIsPrompt(t *testing.T) {
	// A packet queued by a handler that then works on leaves at once: it
	// does not wait for the handler to return.
	s := &scripted{}
	release := make(chan struct{})
	defer close(release)
	s.onDeliver = func(p transport.Packet) {
		s.send(transport.TextPacket("progress"))
		<-release
	}
	_, _, conn := serveLogged(t, s)
	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("4work")))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err, "the handler's packet waits for the handler to return")
	assert.Equal(t, "4progress", string(data))
}

func TestPipelinedReplyNotHeldBySlowHandler(t *testing.T) {
	// Two packets arriving in one segment: the reply to the first leaves
	// while the handler of the second is still working.
	s := &scripted{}
	release := make(chan struct{})
	defer close(release)
	s.onDeliver = func(p transport.Packet) {
		switch string(p.Data) {
		case "fast":
			s.send(transport.TextPacket("re:fast"))
		case "slow":
			<-release
		}
	}
	_, _, conn := serveLogged(t, s)
	_, err := conn.UnderlyingConn().Write(clientFrames("4fast", "4slow"))
	require.NoError(t, err)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err, "the first reply waits for the second handler")
	assert.Equal(t, "4re:fast", string(data))
}

func TestPipelinedRepliesShareOneWrite(t *testing.T) {
	// Replies to packets that arrived together leave in one write. With one
	// processor the writer goroutine runs only once the reader has handled
	// them all, which makes this exact.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 8
	s := &scripted{}
	s.onDeliver = func(p transport.Packet) { s.send(transport.TextPacket("re:" + string(p.Data))) }
	_, log, conn := serveLogged(t, s)
	var msgs, want []string
	for i := range n {
		msgs = append(msgs, fmt.Sprintf("4m%d", i))
		want = append(want, fmt.Sprintf("4re:m%d", i))
	}
	_, err := conn.UnderlyingConn().Write(clientFrames(msgs...))
	require.NoError(t, err)
	for _, w := range want {
		_, data, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, w, string(data))
	}
	_, writes := log.log()
	require.Len(t, writes, 1, "one write for the replies to packets that arrived together")
	assert.Equal(t, want, frames(t, writes[0]))
}

func TestWakeNeverWaitsForTheSocket(t *testing.T) {
	// A client that does not read: packets queued one by one are written on
	// the spot while the socket takes them, and left to a writer goroutine
	// once it does not. Queueing never waits, and the client later gets
	// every packet, whole and in order.
	s := &scripted{}
	_, _, conn := serveLogged(t, s)
	const total = 4000
	payload := fmt.Sprintf("%01000d", 0)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range total {
			s.send(transport.TextPacket(fmt.Sprintf("%05d%s", i, payload)))
		}
	}()
	select {
	case <-sent:
	case <-time.After(10 * time.Second):
		t.Fatal("queueing packets waited for a client that does not read")
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range total {
		_, data, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("4%05d%s", i, payload), string(data))
	}
}

// readClose reads until the connection ends and returns the close error.
func readClose(t *testing.T, conn *gorilla.Conn) error {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return err
		}
	}
}

func TestCloseSendsCloseFrame(t *testing.T) {
	// An orderly end by the server, such as the session closing when the
	// client sent a close packet, ends with a close frame, not a dropped
	// connection (1006 to the client).
	s := newRecorder()
	tr, conn := serve(t, nil, s, "")
	require.NoError(t, tr.Close())
	err := readClose(t, conn)
	assert.True(t, gorilla.IsCloseError(err, gorilla.CloseNoStatusReceived), "got %v", err)
	require.NoError(t, s.waitClosed(t))
}

func TestCloseFrameAfterWriteDeadlinePassed(t *testing.T) {
	// On a connection idle for longer than WriteTimeout, the deadline set
	// for the last batch has passed. It bounds waiting for the socket, and
	// does not stop the close frame, written without waiting.
	s := newRecorder()
	tr, conn := serve(t, nil, s, "")
	require.NoError(t, tr.conn.batch.SetWriteDeadline(time.Now().Add(-time.Second)))
	require.NoError(t, tr.Close())
	err := readClose(t, conn)
	assert.True(t, gorilla.IsCloseError(err, gorilla.CloseNoStatusReceived), "got %v", err)
	require.NoError(t, s.waitClosed(t))
}

func TestProtocolViolationsSendCloseCode(t *testing.T) {
	refuse := func(transport.Transport, transport.Packet) error {
		return fmt.Errorf("ping from a client: %w", transport.ErrUnexpectedPacket)
	}
	for _, tc := range []struct {
		name   string
		frame  func(conn *gorilla.Conn) error
		refuse bool
		code   int
		reason error
	}{
		{"invalid UTF-8", func(c *gorilla.Conn) error { return c.WriteMessage(gorilla.TextMessage, []byte("4\xff\xfe")) },
			false, gorilla.CloseInvalidFramePayloadData, transport.ErrInvalidPacket},
		{"malformed packet", func(c *gorilla.Conn) error { return c.WriteMessage(gorilla.TextMessage, []byte("9")) },
			false, gorilla.CloseProtocolError, transport.ErrInvalidPacket},
		{"unexpected packet", func(c *gorilla.Conn) error { return c.WriteMessage(gorilla.TextMessage, []byte("2")) },
			true, gorilla.ClosePolicyViolation, transport.ErrUnexpectedPacket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRecorder()
			if tc.refuse {
				s.refuse = refuse
			}
			_, conn := serve(t, nil, s, "")
			require.NoError(t, tc.frame(conn))
			err := readClose(t, conn)
			assert.True(t, gorilla.IsCloseError(err, tc.code), "want close code %d, got %v", tc.code, err)
			assert.ErrorIs(t, s.waitClosed(t), tc.reason)
		})
	}
}

func TestHandlerEmitsAfterTheFirstShareWrites(t *testing.T) {
	// A handler's first packet is written on the spot; the many it queues
	// after that are left to a writer goroutine, and share its writes.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 50
	s := &scripted{}
	s.onDeliver = func(transport.Packet) {
		for i := range n {
			s.send(transport.TextPacket(fmt.Sprint(i)))
		}
	}
	_, log, conn := serveLogged(t, s)
	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("4go")))
	for i := range n {
		_, data, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf("4%d", i), string(data))
	}
	_, writes := log.log()
	require.Len(t, writes, 2, "the first packet on the spot, the rest in one write")
	assert.Len(t, frames(t, writes[0]), 1)
	assert.Len(t, frames(t, writes[1]), n-1)
}
