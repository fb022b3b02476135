package parser_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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

type dated struct {
	At   time.Time  `json:"at"`
	When *time.Time `json:"when"`
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
		{name: "server-event-date-forms", exactMsgpack: true, exactJSON: true,
			packet: ev("/", "dates", time.Date(2026, 12, 7, 7, 0, 0, 123456789, time.FixedZone("CET", 3600)),
				time.Unix(1700000000, 0), time.Unix(0, -1),
				dated{At: time.Time{}}, map[string]any{"t": time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
				[]time.Time{time.UnixMilli(8.64e15), time.UnixMilli(-8.64e15), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
					time.Date(-1, 1, 1, 5, 30, 0, 0, time.FixedZone("", 5*3600+30*60))})},
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

// TestInteropMutatedInputs feeds both decoders the same few thousand
// mutations of the decode cases (bytes changed, inserted, swapped, cut) and
// checks that they agree, but for the differences the package
// documentation lists.
func TestInteropMutatedInputs(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	insert := []byte(`0123456789-/,[]{}":_ta ` + "\x00\x91\x80\xc0\xd4\xcb\xa1\xc4\xc7\xff")
	var mutated []decodeCase
	var cases []npmCase
	for len(mutated) < 4000 {
		c := decodeCases[r.IntN(len(decodeCases))]
		if len(c.frames) == 0 || len(c.frames[0].data) > 2000 {
			continue
		}
		c.frames = append([]frame(nil), c.frames...)
		k := r.IntN(len(c.frames))
		d := bytes.Clone(c.frames[k].data)
		for range 1 + r.IntN(3) {
			switch p := r.IntN(len(d) + 1); r.IntN(4) {
			case 0:
				if p < len(d) {
					d[p] = byte(r.Uint32())
				}
			case 1:
				d = d[:p]
			case 2:
				d = append(d[:p], append([]byte{insert[r.IntN(len(insert))]}, d[p:]...)...)
			case 3:
				if p+1 < len(d) {
					d[p], d[p+1] = d[p+1], d[p]
				}
			}
		}
		c.frames[k].data = d
		fs := make([]parser.Frame, len(c.frames))
		for j, f := range c.frames {
			fs[j] = parser.Frame{Data: f.data, Binary: f.binary}
		}
		mutated = append(mutated, c)
		cases = append(cases, npmCase{Name: c.name, Codec: c.codec, Frames: toNPM(fs)})
	}
	var agree, documented int
	for i, r := range npmDecode(t, cases) {
		c := mutated[i]
		ms, err := decodeFrames(codecs[c.codec], c.frames)
		if err == nil && r.OK && jsonEqual(t, tagMessages(t, ms), r.Packets) || err != nil && !r.OK {
			agree++
			continue
		}
		why := documentedDifference(c, err, r)
		if assert.NotEmpty(t, why, "%s %q: Go %v, npm ok=%v %s %s", c.codec, wire(toParserFrames(c.frames)), err, r.OK, r.Error, r.Packets) {
			documented++
		}
	}
	t.Logf("%d inputs: %d decoded alike, %d differ as documented", len(mutated), agree, documented)
	assert.Greater(t, agree, len(mutated)*3/4)
}

// jsWhitespace is what JavaScript's Number() skips, reading " " as 0.
const jsWhitespace = " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

// documentedDifference names the documented difference that explains why
// the decoders disagree on c, or returns "".
func documentedDifference(c decodeCase, goErr error, npm npmDecoded) string {
	for _, f := range c.frames {
		if !f.binary && !utf8.Valid(f.data) {
			return "text messages are UTF-8; Node decodes invalid UTF-8 its own way"
		}
		if !f.binary && c.codec == "json" && bytes.ContainsAny(f.data, jsWhitespace) {
			return "JavaScript reads whitespace in the header as a number"
		}
	}
	if npm.OK && bytes.Contains(npm.Packets, []byte("\ufffd")) {
		return "Go keeps invalid UTF-8 in msgpack strings, JavaScript replaces it"
	}
	if npm.OK && bytes.Contains(npm.Packets, []byte(`"$date":null`)) {
		return "a Date beyond JavaScript's range"
	}
	var pe *parser.PacketError
	if !npm.OK || !errors.As(goErr, &pe) {
		return ""
	}
	if c.codec == "msgpack" && strings.Contains(pe.Reason, "data must be an array") && extAsArray(npm.Packets) {
		return "notepack.io reads an extension of a non-zero type as the array [type, bytes]"
	}
	for _, reason := range []string{
		"empty message",                // Number("") is 0, a CONNECT
		"needs data",                   // no payload, no validation
		"invalid packet id",            // negative, or beyond uint64
		"event name must be",           // the msgpack parser does not check names
		"EVENT data is empty",          // nor that the array holds one
		"map key is not",               // JavaScript makes a string of any key
		"placeholder num out of range", // a fractional num passes the range check
		"limit exceeded",               // the npm decoders have no Limits
	} {
		if strings.Contains(pe.Reason, reason) {
			return pe.Reason
		}
	}
	return ""
}

// extAsArray reports whether npm decoded one packet whose data is
// [type, bytes], which is what notepack.io makes of an extension value.
func extAsArray(packets []byte) bool {
	var ps []struct {
		Data []any `json:"data"`
	}
	if json.Unmarshal(packets, &ps) != nil || len(ps) != 1 || len(ps[0].Data) != 2 {
		return false
	}
	var name float64
	switch v := ps[0].Data[0].(type) {
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return false
		}
		name = f
	case float64:
		name = v
	default:
		return false
	}
	b, ok := ps[0].Data[1].(map[string]any)
	return ok && b["$bin"] != nil && name == math.Trunc(name) && name >= -128 && name <= 127
}

func toParserFrames(fr []frame) []parser.Frame {
	fs := make([]parser.Frame, len(fr))
	for j, f := range fr {
		fs[j] = parser.Frame{Data: f.data, Binary: f.binary}
	}
	return fs
}
