package ferry_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/ferryio/ferry/parser"
)

// wireClient is a WebSocket client that offers permessage-deflate and sees
// the server's frames as they are on the wire, RSV1 bit included.
type wireClient struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

// dialWire opens an Engine.IO WebSocket session on the server at base
// (http://host:port) and returns the client with the Sec-WebSocket-Extensions
// the server answered.
func dialWire(t testing.TB, base string) (*wireClient, string) {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.DialTimeout("tcp", host, within)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(within))
	key := make([]byte, 16)
	rand.Read(key)
	fmt.Fprintf(conn, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"+
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
		host, base64.StdEncoding.EncodeToString(key))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	return &wireClient{t: t, conn: conn, br: br}, resp.Header.Get("Sec-WebSocket-Extensions")
}

// next reads one message, in one frame, and returns its text, inflated if
// it was compressed, and whether it was (RSV1).
func (c *wireClient) next() (string, bool) {
	c.t.Helper()
	var head [2]byte
	_, err := io.ReadFull(c.br, head[:])
	require.NoError(c.t, err)
	require.NotZero(c.t, head[0]&0x80, "a message in one frame")
	require.Equal(c.t, byte(1), head[0]&0x0f, "a text frame")
	n := uint64(head[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		_, err = io.ReadFull(c.br, ext[:])
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		_, err = io.ReadFull(c.br, ext[:])
		n = binary.BigEndian.Uint64(ext[:])
	}
	require.NoError(c.t, err)
	payload := make([]byte, n)
	_, err = io.ReadFull(c.br, payload)
	require.NoError(c.t, err)
	rsv1 := head[0]&0x40 != 0
	if rsv1 {
		r := flate.NewReader(io.MultiReader(bytes.NewReader(payload), strings.NewReader("\x00\x00\xff\xff\x01\x00\x00\xff\xff")))
		payload, err = io.ReadAll(r)
		require.NoError(c.t, err)
	}
	return string(payload), rsv1
}

// send writes text as one masked, uncompressed text frame.
func (c *wireClient) send(text string) {
	c.t.Helper()
	frame := []byte{0x81}
	if n := len(text); n < 126 {
		frame = append(frame, 0x80|byte(n))
	} else {
		frame = binary.BigEndian.AppendUint16(append(frame, 0x80|126), uint16(n))
	}
	mask := [4]byte{5, 6, 7, 8}
	frame = append(frame, mask[:]...)
	for i := range len(text) {
		frame = append(frame, text[i]^mask[i%4])
	}
	_, err := c.conn.Write(frame)
	require.NoError(c.t, err)
}

func TestCompressFlag(t *testing.T) {
	// With PerMessageDeflate on, an event at or over the threshold leaves
	// compressed (RSV1), unless emitted with Compress(false): to one
	// socket, with or without an ack, or broadcast; with connection state
	// recovery on, where an emit to one socket goes through the adapter,
	// too.
	big := strings.Repeat(`{"user":"ferry","text":"hello, world"},`, 60)
	for _, recovery := range []bool{false, true} {
		t.Run(fmt.Sprintf("recovery=%v", recovery), func(t *testing.T) {
			t.Parallel()
			opts := &ferry.Options{PerMessageDeflate: &ferry.DeflateOptions{}}
			if recovery {
				opts.ConnectionStateRecovery = &ferry.RecoveryOptions{}
			}
			ts := mode{name: "websocket", codec: parser.JSON()}.serve(t, opts)
			acked := make(chan error, 1)
			ts.OnConnection(func(s *ferry.Socket) {
				s.Emit("plain", big)
				s.Compress(false).Emit("socket-off", big)
				s.Compress(false).Compress(true).Emit("socket-on-again", big)
				ts.Compress(false).Emit("broadcast-off", big)
				ts.Emit("broadcast", big)
				ts.Of("/").Compress(false).To(s.ID()).Emit("room-off", big)
				s.Emit("small", "x")
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), within)
					defer cancel()
					_, err := s.Compress(false).EmitWithAck(ctx, "ack-off", big)
					acked <- err
				}()
			})
			c, ext := dialWire(t, ts.URL)
			assert.Contains(t, ext, "permessage-deflate")
			open, _ := c.next()
			require.True(t, strings.HasPrefix(open, "0{"), open)
			c.send("40")
			want := map[string]bool{
				"plain": true, "socket-off": false, "socket-on-again": true, "broadcast-off": false,
				"broadcast": true, "room-off": false, "small": false, "ack-off": false,
			}
			got := map[string]bool{}
			for len(got) < len(want) {
				msg, compressed := c.next()
				if strings.HasPrefix(msg, "40") {
					continue // the CONNECT reply
				}
				require.True(t, strings.HasPrefix(msg, "42"), msg)
				body := strings.TrimLeft(msg[2:], "0123456789")
				var args []any
				require.NoError(t, json.Unmarshal([]byte(body), &args), msg)
				name := args[0].(string)
				got[name] = compressed
				if id := msg[2 : len(msg)-len(body)]; id != "" {
					c.send("43" + id + "[]")
				}
			}
			assert.Equal(t, want, got)
			require.NoError(t, recv(t, acked))
		})
	}
}

func TestInteropPerMessageDeflate(t *testing.T) {
	// The official client in Node negotiates the extension when the server
	// has it on, and a large echo costs few bytes both ways, but for an
	// event emitted with Compress(false); off by default.
	nodetest.Require(t)
	for _, on := range []bool{true, false} {
		for _, transports := range []string{"websocket", "polling,websocket"} {
			name := map[bool]string{true: "on", false: "off"}[on]
			t.Run(name+"/"+transports, func(t *testing.T) {
				t.Parallel()
				var opts ferry.Options
				if on {
					opts.PerMessageDeflate = &ferry.DeflateOptions{}
				}
				ts := mode{name: transports, codec: parser.Msgpack()}.serve(t, &opts)
				ts.OnConnection(func(s *ferry.Socket) {
					s.On("echo", func(e *ferry.Event) { s.Emit("echo", e.Args[0]) })
					s.On("echo-plain", func(e *ferry.Event) { s.Compress(false).Emit("echo-plain", e.Args[0]) })
				})
				out := nodetest.Run(t, 60*time.Second, "deflate-client.mjs", []string{ts.URL, transports, name})
				t.Log(strings.TrimSpace(out))
			})
		}
	}
}
