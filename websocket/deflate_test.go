package websocket

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/transport/transporttest"
)

func TestConformanceDeflate(t *testing.T) {
	// Every message compressed, both ways.
	transporttest.Run(t, func(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
		tr, conn := serve(t, &Options{Deflate: &DeflateOptions{Threshold: -1}}, s, "")
		return tr, &transporttest.WebSocketPeer{Conn: conn}
	})
}

func TestConformanceTLS(t *testing.T) {
	// Over TLS there is no raw socket: reads and writes, on the spot or
	// not, and the final close frame take the paths through the
	// connection.
	transporttest.Run(t, func(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
		tr, conn := serveOn(t, nil, s, "", true)
		require.Nil(t, tr.conn.batch.raw)
		return tr, &transporttest.WebSocketPeer{Conn: conn}
	})
}

func TestConformanceTLSDeflate(t *testing.T) {
	transporttest.Run(t, func(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
		tr, conn := serveOn(t, &Options{Deflate: &DeflateOptions{Threshold: -1}}, s, "", true)
		require.Nil(t, tr.conn.batch.raw)
		return tr, &transporttest.WebSocketPeer{Conn: conn}
	})
}

// wireFrame is one frame as the server wrote it.
type wireFrame struct {
	fin, rsv1 bool
	opcode    byte
	payload   []byte
}

// parseFrames splits what the server wrote (unmasked frames) into frames.
func parseFrames(t *testing.T, b []byte) []wireFrame {
	t.Helper()
	var out []wireFrame
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), 2)
		f := wireFrame{fin: b[0]&0x80 != 0, rsv1: b[0]&0x40 != 0, opcode: b[0] & 0x0f}
		n, head := uint64(b[1]&0x7f), 2
		switch n {
		case 126:
			require.GreaterOrEqual(t, len(b), 4)
			n, head = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			require.GreaterOrEqual(t, len(b), 10)
			n, head = binary.BigEndian.Uint64(b[2:]), 10
		}
		require.GreaterOrEqual(t, uint64(len(b)-head), n)
		f.payload = b[head : head+int(n)]
		out = append(out, f)
		b = b[head+int(n):]
	}
	return out
}

// inflate decompresses one message compressed with no context takeover.
func inflate(t *testing.T, payload []byte) []byte {
	t.Helper()
	r := flate.NewReader(io.MultiReader(bytes.NewReader(payload), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff")))
	out, err := io.ReadAll(r)
	require.NoError(t, err)
	return out
}

// jsonLike returns a text of n bytes that compresses as JSON does.
func jsonLike(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user-%d","text":"hello there","tags":["a","b"]},`, i, i%7)
	}
	return b.String()[:n]
}

func TestDeflateFrames(t *testing.T) {
	// With permessage-deflate accepted, a message whose frame payload
	// reaches the threshold is sent compressed (RSV1 set), unless its
	// packet is marked NoCompress; smaller ones are sent as they are. A
	// broadcast's frame, prepared once, is sent either way from the same
	// cache. Everything reads back intact.
	big := jsonLike(2000)
	noCompress := func(p transport.Packet) transport.Packet { p.NoCompress = true; return p }
	cache := new(transport.FrameCache)
	sharedBig := transport.TextPacket(big)
	sharedBig.Shared = cache
	bin := []byte(jsonLike(1500))
	pkts := []struct {
		pkt      transport.Packet
		opcode   byte
		wire     string // the message's payload, inflated
		compress bool
	}{
		{transport.TextPacket(big), 1, "4" + big, true},
		{noCompress(transport.TextPacket(big)), 1, "4" + big, false},
		{transport.TextPacket(big[:1022]), 1, "4" + big[:1022], false}, // 1023 bytes
		{transport.TextPacket(big[:1023]), 1, "4" + big[:1023], true},  // 1024 bytes
		{sharedBig, 1, "4" + big, true},
		{noCompress(sharedBig), 1, "4" + big, false},
		{transport.BinaryPacket(bin), 2, string(bin), true},
		{noCompress(transport.BinaryPacket(bin)), 2, string(bin), false},
		{transport.Packet{Type: transport.Ping}, 1, "2", false},
	}
	s := &scripted{}
	_, log, conn := serveLoggedWith(t, &Options{Deflate: &DeflateOptions{}}, s)
	var queued []transport.Packet
	for _, p := range pkts {
		queued = append(queued, p.pkt)
	}
	s.send(queued...)
	for i, want := range pkts {
		mt, data, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, int(want.opcode), mt, "message %d", i)
		require.Equal(t, want.wire, string(data), "message %d", i)
	}
	_, writes := log.log()
	got := parseFrames(t, bytes.Join(writes, nil))
	require.Len(t, got, len(pkts), "one frame per message")
	for i, want := range pkts {
		f := got[i]
		assert.True(t, f.fin, "message %d", i)
		assert.Equal(t, want.opcode, f.opcode, "message %d", i)
		assert.Equal(t, want.compress, f.rsv1, "message %d: RSV1", i)
		payload := f.payload
		if f.rsv1 {
			assert.Less(t, len(payload), len(want.wire)/2, "message %d is compressed", i)
			payload = inflate(t, payload)
		}
		assert.Equal(t, want.wire, string(payload), "message %d", i)
	}
}

func TestDeflateReplyOnTheSpot(t *testing.T) {
	// A handler's reply, written on the spot by the read goroutine, is
	// compressed too; the client's compressed message is inflated.
	big := jsonLike(3000)
	s := &scripted{}
	s.onDeliver = func(p transport.Packet) { s.send(transport.TextPacket("re:" + string(p.Data))) }
	_, log, conn := serveLoggedWith(t, &Options{Deflate: &DeflateOptions{}}, s)
	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("4"+big)))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "4re:"+big, string(data))
	events, writes := log.log()
	require.GreaterOrEqual(t, len(events), 2)
	assert.Equal(t, []string{"R", "W"}, events[:2], "the reply is written before the next read")
	got := parseFrames(t, writes[0])
	require.Len(t, got, 1)
	assert.True(t, got[0].rsv1)
	assert.Equal(t, "4re:"+big, string(inflate(t, got[0].payload)))
}

func TestDeflateDeclinedWithoutOption(t *testing.T) {
	// Off by default: the offer is declined, and large messages go out
	// uncompressed even when marked for compression.
	s := &scripted{}
	_, log, conn := serveLoggedWith(t, nil, s)
	big := jsonLike(2000)
	s.send(transport.TextPacket(big))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "4"+big, string(data))
	_, writes := log.log()
	got := parseFrames(t, bytes.Join(writes, nil))
	require.Len(t, got, 1)
	assert.False(t, got[0].rsv1)
}

func TestDeflateNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		deflate *DeflateOptions
		want    string
	}{
		{"off", nil, ""},
		{"on", &DeflateOptions{}, "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := NewConfig(&Options{Deflate: tc.deflate})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if conn, err := cfg.Upgrade(w, r); err == nil {
					conn.Close()
				}
			}))
			defer srv.Close()
			d := gorilla.Dialer{EnableCompression: true}
			conn, resp, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
			require.NoError(t, err)
			defer conn.Close()
			assert.Equal(t, tc.want, resp.Header.Get("Sec-WebSocket-Extensions"))
		})
	}
}

func TestDeflateLevelOutOfRange(t *testing.T) {
	for _, tc := range []struct{ level, want int }{
		{0, flate.BestSpeed},
		{flate.HuffmanOnly, flate.HuffmanOnly},
		{flate.BestCompression, flate.BestCompression},
		{10, flate.BestSpeed},
		{-3, flate.BestSpeed},
	} {
		cfg := NewConfig(&Options{Deflate: &DeflateOptions{Level: tc.level}, Logger: slog.New(slog.DiscardHandler)})
		assert.Equal(t, tc.want, cfg.level, "level %d", tc.level)
	}
}

// compressedFrame returns msg as a masked client text frame with RSV1 set,
// its payload compressed with no context takeover.
func compressedFrame(t *testing.T, msg []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	w, err := flate.NewWriter(&z, flate.BestCompression)
	require.NoError(t, err)
	w.Write(msg)
	require.NoError(t, w.Flush())
	payload := bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
	return maskedFrame(0xc1, payload) // FIN, RSV1, text
}

// maskedFrame returns payload as a masked client frame whose first byte is
// first.
func maskedFrame(first byte, payload []byte) []byte {
	out := []byte{first}
	switch n := len(payload); {
	case n < 126:
		out = append(out, 0x80|byte(n))
	default:
		out = append(out, 0x80|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	}
	mask := [4]byte{7, 1, 3, 9}
	out = append(out, mask[:]...)
	for i, c := range payload {
		out = append(out, c^mask[i%4])
	}
	return out
}

func TestDeflateInflatedTooLarge(t *testing.T) {
	// The size limit bounds a compressed message by what it inflates to,
	// not by its few bytes on the wire: one over it closes the connection
	// with 1009, and nothing of it is delivered.
	const limit = 1000
	s := newRecorder()
	_, conn := serve(t, &Options{MaxHTTPBufferSize: limit, Deflate: &DeflateOptions{}}, s, "")
	fits := "4" + strings.Repeat("a", limit-1)
	frame := compressedFrame(t, []byte(fits))
	require.Less(t, len(frame), 100)
	_, err := conn.NetConn().Write(frame)
	require.NoError(t, err)
	assert.Equal(t, transport.TextPacket(fits[1:]), <-s.delivered)

	bomb := compressedFrame(t, []byte("4"+strings.Repeat("a", 512<<10)))
	require.Less(t, len(bomb), limit, "the compressed frame is within the limit")
	_, err = conn.NetConn().Write(bomb)
	require.NoError(t, err)
	err = readClose(t, conn)
	assert.True(t, gorilla.IsCloseError(err, gorilla.CloseMessageTooBig), "got %v", err)
	require.ErrorIs(t, s.waitClosed(t), ErrMessageTooLarge)
	select {
	case p := <-s.delivered:
		t.Fatalf("delivered %v", p)
	default:
	}
}

func TestDeflateCorruptMessage(t *testing.T) {
	// A compressed message that does not inflate closes the connection
	// with 1007, as the ws library does.
	s := newRecorder()
	_, conn := serve(t, &Options{Deflate: &DeflateOptions{}}, s, "")
	// A final block of the reserved type 3: not a deflate stream.
	_, err := conn.NetConn().Write(maskedFrame(0xc1, []byte{0x07, 0x00, 0x00}))
	require.NoError(t, err)
	err = readClose(t, conn)
	assert.True(t, gorilla.IsCloseError(err, gorilla.CloseInvalidFramePayloadData), "got %v", err)
	require.ErrorIs(t, s.waitClosed(t), transport.ErrInvalidPacket)
}

func TestTLSWakeWritesWithoutRawConn(t *testing.T) {
	// Over TLS, where no raw socket exists, a handler's reply is left to
	// a writer goroutine, and a server-side Close still sends its close
	// frame (through a write bounded by a short deadline).
	s := newRecorder()
	s.refuse = func(tr transport.Transport, p transport.Packet) error {
		s.push(false, transport.TextPacket("re:"+string(p.Data)))
		tr.Wake()
		return nil
	}
	tr, conn := serveOn(t, nil, s, "", true)
	require.Nil(t, tr.conn.batch.raw)
	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("4hi")))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "4re:hi", string(data))
	require.NoError(t, tr.Close())
	err = readClose(t, conn)
	assert.True(t, gorilla.IsCloseError(err, gorilla.CloseNoStatusReceived), "got %v", err)
	require.NoError(t, s.waitClosed(t))
}
