package ferry_test

import (
	"encoding/binary"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
)

// maskedFrames returns client WebSocket frames (masked, one per message;
// binary when binary is set) to be written in one system call, so that
// the server receives them in one segment.
func maskedFrames(binaryFrames bool, msgs ...[]byte) []byte {
	var out []byte
	mask := [4]byte{7, 1, 9, 3}
	for _, m := range msgs {
		op := byte(0x81)
		if binaryFrames {
			op = 0x82
		}
		out = append(out, op)
		switch n := len(m); {
		case n < 126:
			out = append(out, 0x80|byte(n))
		case n <= 0xffff:
			out = append(out, 0x80|126)
			out = binary.BigEndian.AppendUint16(out, uint16(n))
		default:
			out = append(out, 0x80|127)
			out = binary.BigEndian.AppendUint64(out, uint64(n))
		}
		out = append(out, mask[:]...)
		for i, b := range m {
			out = append(out, b^mask[i%4])
		}
	}
	return out
}

func TestEmitInsideHandlerIsPrompt(t *testing.T) {
	// A handler that emits, or acks, then works on: the client receives
	// the event, or the ack, while the handler is still working, on every
	// transport.
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		release := make(chan struct{})
		t.Cleanup(func() { close(release) })
		ts.OnConnection(func(s *ferry.Socket) {
			s.On("work", func(*ferry.Event) {
				s.Emit("progress", 50)
				<-release
			})
			s.On("ackwork", func(e *ferry.Event) {
				e.Ack("started")
				<-release
			})
		})
		cs := ts.connect(t, "/", nil)
		// A handler that blocks while the client upgrades holds the upgrade
		// (the client waits for its POST before it switches): start once
		// the transport is settled.
		m.upgraded(t, ts.socket(t, cs))
		progress := events(cs, "progress")
		require.NoError(t, cs.Emit("work"))
		require.Equal(t, 50, arg[int](t, recv(t, progress), 0))

		// A second connection: the first one's handler is still working.
		cs2 := ts.connect(t, "/", nil)
		m.upgraded(t, ts.socket(t, cs2))
		acked := make(chan []parser.Raw, 1)
		go func() {
			args, err := cs2.EmitWithAck(bounded(t), "ackwork")
			if err == nil {
				acked <- args
			}
		}()
		require.Equal(t, "started", decodeRaw[string](t, recv(t, acked)[0]))
	})
}

func TestPipelinedAckNotHeldBySlowHandler(t *testing.T) {
	// Two events in one TCP segment: "fast" acks at once, "slow" works on.
	// The ack of "fast" arrives while "slow" is still working.
	m := mode{name: "websocket", codec: parser.Msgpack()}
	ts := m.serve(t, nil)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	ts.OnConnection(func(s *ferry.Socket) {
		s.On("fast", func(e *ferry.Event) { e.Ack("fast done") })
		s.On("slow", func(e *ferry.Event) {
			<-release
			e.Ack("slow done")
		})
	})
	r := ts.dialRaw(t, "websocket")
	r.join("/", nil)
	var msgs [][]byte
	for i, name := range []string{"fast", "slow"} {
		frames, err := r.codec.Encode(&parser.Packet{Type: parser.Event, Namespace: "/", ID: uint64(i), HasID: true, Args: []any{name}})
		require.NoError(t, err)
		require.Len(t, frames, 1)
		require.True(t, frames[0].Binary)
		// Engine.IO over WebSocket: a binary frame carries the message alone.
		msgs = append(msgs, frames[0].Data)
	}
	_, err := r.ws.UnderlyingConn().Write(maskedFrames(true, msgs...))
	require.NoError(t, err)
	got, err := r.read()
	require.NoError(t, err, "the ack of the fast event waits for the slow handler")
	require.Equal(t, parser.Ack, got.Type)
	require.EqualValues(t, 0, got.ID)
	require.Equal(t, "fast done", decodeRaw[string](t, got.Args[0]))
}

func TestOverflowDoesNotRunHandlersInsideEmit(t *testing.T) {
	// A client that stops reading lets its queue overflow. The socket's
	// disconnect handlers must not run on the goroutine calling Emit: here
	// that goroutine holds a lock the handlers take, which would deadlock.
	m := mode{name: "polling", transports: []string{"polling"}, codec: parser.Msgpack()}
	ts := m.serve(t, &ferry.Options{MaxQueuedPackets: 8})
	joined := sockets(ts.Of("/"))
	r := ts.dialRaw(t, "polling") // never polls after joining
	r.join("/", nil)
	s := recv(t, joined)

	var appLock = make(chan struct{}, 1) // a mutex the test can time out on
	disconnected := make(chan ferry.DisconnectReason, 1)
	s.OnDisconnect(func(_ *ferry.Socket, why ferry.DisconnectReason) {
		appLock <- struct{}{}
		<-appLock
		disconnected <- why
	})
	emitted := make(chan error, 1)
	go func() {
		appLock <- struct{}{} // the emitter holds the application's lock
		var err error
		for range 20 {
			if err = s.Emit("tick", 1); err != nil {
				break
			}
		}
		<-appLock
		emitted <- err
	}()
	select {
	case err := <-emitted:
		require.ErrorIs(t, err, ferry.ErrDisconnected)
	case <-time.After(within):
		t.Fatal("Emit ran the disconnect handlers, which waited for the emitter's lock")
	}
	require.Equal(t, ferry.ReasonTransportError, recv(t, disconnected))
}

func TestClientCloseGetsCloseFrame(t *testing.T) {
	// A client's close packet over WebSocket ends the connection with a
	// close frame, as every orderly end does: not a dropped connection,
	// which the client reports as 1006.
	m := mode{name: "websocket", codec: parser.Msgpack()}
	ts := m.serve(t, nil)
	r := ts.dialRaw(t, "websocket")
	r.join("/", nil)
	require.NoError(t, r.ws.WriteMessage(gorilla.TextMessage, []byte("1")))
	err := readUntilError(r.ws)
	require.True(t, gorilla.IsCloseError(err, gorilla.CloseNoStatusReceived, gorilla.CloseNormalClosure), "got %v", err)
}

func TestProtocolViolationsGetCloseCodes(t *testing.T) {
	m := mode{name: "websocket", codec: parser.Msgpack()}
	for _, tc := range []struct {
		name  string
		probe bool // on the WebSocket of an upgrade, before it is probed
		op    int
		data  string
		code  int
	}{
		{"invalid UTF-8 text", false, gorilla.TextMessage, "4\xc3\x28", gorilla.CloseInvalidFramePayloadData},
		{"malformed Engine.IO packet", false, gorilla.TextMessage, "x", gorilla.CloseProtocolError},
		{"ping from the client", false, gorilla.TextMessage, "2", gorilla.ClosePolicyViolation},
		{"bad first frame of a probe", true, gorilla.TextMessage, "4hello", gorilla.ClosePolicyViolation},
		{"binary frame before the probe", true, gorilla.BinaryMessage, "\x01\x02", gorilla.ClosePolicyViolation},
		{"malformed frame during the probe", true, gorilla.TextMessage, "9", gorilla.CloseProtocolError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := m.serve(t, nil)
			var ws *gorilla.Conn
			if tc.probe {
				r := ts.dialRaw(t, "polling")
				ws = r.dialWebSocket(r.sid)
				t.Cleanup(func() { ws.Close() })
			} else {
				ws = ts.dialRaw(t, "websocket").ws
			}
			require.NoError(t, ws.WriteMessage(tc.op, []byte(tc.data)))
			err := readUntilError(ws)
			require.True(t, gorilla.IsCloseError(err, tc.code), "want close code %d, got %v", tc.code, err)
		})
	}
}

// readUntilError reads frames until the connection ends, and returns why.
func readUntilError(ws *gorilla.Conn) error {
	ws.SetReadDeadline(time.Now().Add(within))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			return err
		}
	}
}
