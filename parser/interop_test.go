package parser_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/ferryio/ferry/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests prove compatibility with the npm codecs by running them:
// internal/nodetest/node/parser-vectors.mjs encodes packets built the way
// Node's socket.io server and client build them, and decodes whatever the Go
// side hands it.

type sidReply struct {
	SID string `json:"sid"`
	PID string `json:"pid"`
}

type refusal struct {
	Message string `json:"message"`
	Data    any    `json:"data"`
}

type upload struct {
	Name  string   `json:"name"`
	Tags  []string `json:"tags"`
	Bin   []byte   `json:"bin"`
	Count int      `json:"count"`
}

// encodeVector pairs a Go packet with the vector of the same name in
// parser-vectors.mjs.
type encodeVector struct {
	name   string
	packet *parser.Packet
	// exact: the Go encoding must equal the npm one byte for byte. When
	// false, the npm object has something Go does not write (an undefined
	// field, the client's "options", a typed array, a key order).
	exactMsgpack, exactJSON bool
	// npmMsgpack, when set, is what the npm decoder must make of the Go
	// msgpack encoding, where that differs from its own encoding's value.
	npmMsgpack string
}

func encodeVectors() []encodeVector {
	ev := func(ns string, args ...any) *parser.Packet {
		return &parser.Packet{Type: parser.Event, Namespace: ns, Args: args}
	}
	withID := func(p *parser.Packet, id uint64) *parser.Packet {
		p.ID, p.HasID = id, true
		return p
	}
	big := map[string]any{}
	for i := range 17 {
		big["k"+string(rune('0'+i/10))+string(rune('0'+i%10))] = i
	}
	sixteen := make([]any, 16)
	for i := range sixteen {
		sixteen[i] = i
	}
	return []encodeVector{
		{name: "server-connect-reply", exactJSON: true,
			packet:     &parser.Packet{Type: parser.Connect, Payload: map[string]any{"sid": "cKH1pN3s2dxVc0aTAAAB"}},
			npmMsgpack: `[{"type":0,"nsp":"/","data":{"sid":"cKH1pN3s2dxVc0aTAAAB"}}]`},
		{name: "server-connect-reply-recovery", exactMsgpack: true, exactJSON: true,
			packet: &parser.Packet{Type: parser.Connect, Namespace: "/admin", Payload: sidReply{"YxeEzAB8X3pD1pFZAAAB", "YdAUGd2y0j0o0gYdAAAC"}}},
		{name: "server-event", exactMsgpack: true, exactJSON: true,
			packet: ev("", "hello", 1, map[string]any{"a": []any{true, nil}})},
		{name: "server-event-ack", exactMsgpack: true, exactJSON: true, packet: withID(ev("/admin", "hello"), 12)},
		{name: "server-event-ack-zero", exactMsgpack: true, exactJSON: true, packet: withID(ev("/", "message-with-ack", "x"), 0)},
		{name: "server-event-binary", exactMsgpack: true, exactJSON: true,
			packet: ev("/", "bin", []byte{1, 2}, map[string]any{"x": []byte{3}})},
		{name: "server-event-numbers", exactMsgpack: true, exactJSON: true,
			packet: ev("/", "nums", 0, 127, 128, 255, 256, 65535, 65536, uint32(math.MaxUint32), int64(1<<32), int64(1<<53),
				-1, -32, -33, -128, -129, -32768, -32769, int32(math.MinInt32), int64(math.MinInt32)-1,
				1.5, -2.5e-7, 0.1, 123456.789, 5e-324, math.Copysign(0, -1))},
		{name: "server-event-big-integers", exactMsgpack: true,
			packet: ev("/", "big", int64(1<<60), int64(-1<<60), uint64(1<<63))},
		{name: "server-event-strings", exactMsgpack: true, exactJSON: true,
			packet: ev("/", "strings", "", "héllo €𝄞", strings.Repeat("x", 31), strings.Repeat("y", 32), strings.Repeat("z", 255),
				strings.Repeat("w", 256), strings.Repeat("v", 65536),
				"quote\" back\\ nl\n cr\r tab\t bs\b ff\f ctrl\u0001\u001f del\u007f ls\u2028 <>&/")},
		{name: "server-event-containers", exactMsgpack: true, exactJSON: true,
			packet: ev("/", "containers", nil, true, false, []any{}, map[string]any{}, sixteen, big,
				[]any{[]any{[]any{[]any{"deep"}}}}, map[string]any{"nested": map[string]any{"list": []any{1, map[string]any{"two": 2}}}})},
		{name: "server-event-large-binary", exactMsgpack: true, exactJSON: true,
			packet: ev("/", "blob", bytes.Repeat([]byte{7}, 300), []byte{}, bytes.Repeat([]byte{1}, 70000))},
		{name: "server-event-date", exactMsgpack: true, exactJSON: true,
			packet: ev("/", "when", time.UnixMilli(1700000000123).UTC(), time.UnixMilli(-1234).UTC())},
		{name: "server-event-numeric-name", exactMsgpack: true, exactJSON: true, packet: ev("/", 42, "x")},
		{name: "server-event-object", exactMsgpack: true, exactJSON: true,
			packet: ev("/", "object", upload{Name: "x", Tags: []string{"a", "b"}, Bin: []byte{9, 8}, Count: 3})},
		{name: "server-ack-binary", exactMsgpack: true, exactJSON: true,
			packet: &parser.Packet{Type: parser.Ack, HasID: true, Args: []any{"hi", []byte{1, 2}}}},
		{name: "server-ack-empty", exactMsgpack: true, exactJSON: true,
			packet: &parser.Packet{Type: parser.Ack, Namespace: "/admin", ID: 7, HasID: true}},
		{name: "server-connect-error", exactMsgpack: true, exactJSON: true,
			packet: &parser.Packet{Type: parser.ConnectError, Namespace: "/admin",
				Payload: refusal{Message: "not authorized", Data: map[string]any{"reason": "demo"}}}},
		{name: "server-connect-error-namespace", exactJSON: true,
			packet: &parser.Packet{Type: parser.ConnectError, Namespace: "/nope", Payload: map[string]any{"message": "Invalid namespace"}}},
		{name: "server-disconnect", exactMsgpack: true, exactJSON: true,
			packet: &parser.Packet{Type: parser.Disconnect, Namespace: "/admin"}},
		{name: "client-connect", exactJSON: true, packet: &parser.Packet{Type: parser.Connect}},
		{name: "client-connect-auth", exactMsgpack: true, exactJSON: true,
			packet: &parser.Packet{Type: parser.Connect, Payload: map[string]any{"token": "123"}}},
		{name: "client-connect-recovery",
			packet: &parser.Packet{Type: parser.Connect, Payload: map[string]any{"pid": "YdAUGd2y0j0o0gYdAAAC", "offset": "Q81A9m9.0", "token": "x"}}},
		{name: "client-event", exactJSON: true, packet: ev("/", "hi", 1)},
		{name: "client-event-ack-binary", exactJSON: true, packet: withID(ev("/", "message-with-ack", "hi", []byte{1, 2}), 0)},
		{name: "client-event-typed-arrays", exactJSON: true,
			packet: ev("/", "typed", []byte{1, 2, 3}, []byte{9, 8}, map[string]any{"u": []byte{5}})},
		{name: "client-ack", exactJSON: true,
			packet: &parser.Packet{Type: parser.Ack, ID: 5, HasID: true, Args: []any{"ok", map[string]any{"n": 1}}}},
		{name: "client-disconnect", exactMsgpack: true, exactJSON: true, packet: &parser.Packet{Type: parser.Disconnect}},
	}
}

// npmFrame is a frame as parser-vectors.mjs reads and writes it.
type npmFrame struct {
	Hex    string `json:"hex"`
	Binary bool   `json:"binary"`
}

type npmDecoded struct {
	Name    string          `json:"name"`
	OK      bool            `json:"ok"`
	Error   string          `json:"error"`
	Packets json.RawMessage `json:"packets"`
}

type npmEncoding struct {
	Frames  []npmFrame `json:"frames"`
	Decoded npmDecoded `json:"decoded"`
}

type npmVector struct {
	Name    string      `json:"name"`
	Msgpack npmEncoding `json:"msgpack"`
	JSON    npmEncoding `json:"json"`
}

type npmCase struct {
	Name   string     `json:"name"`
	Codec  string     `json:"codec"`
	Frames []npmFrame `json:"frames"`
}

func toNPM(frames []parser.Frame) []npmFrame {
	out := make([]npmFrame, len(frames))
	for i, f := range frames {
		out[i] = npmFrame{Hex: hex.EncodeToString(f.Data), Binary: f.Binary}
	}
	return out
}

func fromNPM(t *testing.T, frames []npmFrame) []frame {
	out := make([]frame, len(frames))
	for i, f := range frames {
		b, err := hex.DecodeString(f.Hex)
		require.NoError(t, err)
		out[i] = frame{data: b, binary: f.Binary}
	}
	return out
}

// npmDecode runs the npm decoders over cases and returns their results in
// order.
func npmDecode(t *testing.T, cases []npmCase) []npmDecoded {
	t.Helper()
	in, err := json.Marshal(cases)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "cases.json")
	require.NoError(t, os.WriteFile(file, in, 0o600))
	var out []npmDecoded
	require.NoError(t, json.Unmarshal([]byte(nodetest.Run(t, time.Minute, "parser-vectors.mjs", []string{"decode", file})), &out))
	require.Len(t, out, len(cases))
	return out
}

func TestInteropEncodeVectors(t *testing.T) {
	t.Parallel()
	var npm []npmVector
	require.NoError(t, json.Unmarshal([]byte(nodetest.Run(t, time.Minute, "parser-vectors.mjs", []string{"encode"})), &npm))
	byName := map[string]npmVector{}
	for _, v := range npm {
		byName[v.Name] = v
	}
	vectors := encodeVectors()
	require.Len(t, npm, len(vectors), "parser-vectors.mjs and encodeVectors list the same packets")

	var goCases []npmCase
	var want []string
	for _, v := range vectors {
		n, ok := byName[v.name]
		require.True(t, ok, "vector %s is missing from parser-vectors.mjs", v.name)
		for _, codec := range []string{"msgpack", "json"} {
			enc, exact, override := n.Msgpack, v.exactMsgpack, v.npmMsgpack
			if codec == "json" {
				enc, exact, override = n.JSON, v.exactJSON, ""
			}
			require.True(t, enc.Decoded.OK, "npm decodes its own %s encoding of %s", codec, v.name)
			frames, err := codecs[codec].Encode(v.packet)
			require.NoError(t, err, "%s %s", codec, v.name)

			// (a) Go writes what npm writes.
			if exact {
				assert.Equal(t, enc.Frames, toNPM(frames), "%s %s: Go %v", codec, v.name, wire(frames))
			} else {
				assert.NotEqual(t, enc.Frames, toNPM(frames), "%s %s is marked inexact but matches: mark it exact", codec, v.name)
			}

			// (b) Go decodes npm's encoding to the value npm decodes.
			ms, err := decodeFrames(codecs[codec], fromNPM(t, enc.Frames))
			require.NoError(t, err, "%s %s", codec, v.name)
			assert.JSONEq(t, string(enc.Decoded.Packets), tagMessages(t, ms), "%s %s", codec, v.name)

			// (c) npm decodes Go's encoding, checked below in one run.
			goCases = append(goCases, npmCase{Name: codec + " " + v.name, Codec: codec, Frames: toNPM(frames)})
			if override == "" {
				override = string(enc.Decoded.Packets)
			}
			want = append(want, override)
		}
	}
	for i, r := range npmDecode(t, goCases) {
		if assert.True(t, r.OK, "npm rejects Go's %s: %s", r.Name, r.Error) {
			assert.JSONEq(t, want[i], string(r.Packets), "npm decoding Go's %s", r.Name)
		}
	}
}

func TestInteropDecodeCases(t *testing.T) {
	t.Parallel()
	cases := make([]npmCase, len(decodeCases))
	for i, c := range decodeCases {
		fs := make([]parser.Frame, len(c.frames))
		for k, f := range c.frames {
			fs[k] = parser.Frame{Data: f.data, Binary: f.binary}
		}
		cases[i] = npmCase{Name: c.name, Codec: c.codec, Frames: toNPM(fs)}
	}
	for i, r := range npmDecode(t, cases) {
		c := decodeCases[i]
		goOK := c.want != ""
		same := r.OK == goOK && (!goOK || jsonEqual(t, c.want, r.Packets))
		if c.nodeDiffers != "" {
			assert.False(t, same, "%s %s: the documented difference (%s) no longer holds", c.codec, c.name, c.nodeDiffers)
			continue
		}
		if assert.Equal(t, goOK, r.OK, "%s %s: npm error %q", c.codec, c.name, r.Error) && goOK {
			assert.JSONEq(t, c.want, string(r.Packets), "%s %s", c.codec, c.name)
		}
	}
}

func jsonEqual(t *testing.T, a string, b []byte) bool {
	var x, y any
	require.NoError(t, json.Unmarshal([]byte(a), &x))
	require.NoError(t, json.Unmarshal(b, &y))
	return assert.ObjectsAreEqual(x, y)
}
