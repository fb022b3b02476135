package parser_test

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/ferryio/ferry/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// valueVectors pairs Go values with the JavaScript values of the same name
// in parser-vectors.mjs (mode "values").
func valueVectors() map[string]any {
	return map[string]any{
		"null": nil,
		"numbers": []any{0, 127, -1, -33, 65536, 1.5, 0.1, int64(1 << 53), float64(1 << 60), int64(math.MinInt32) - 1,
			1e-7, 5e-324, math.Copysign(0, -1)},
		"string":        "héllo €𝄞 \"quoted\" back\\ nl\n ctrl\x01 " + strings.Repeat("y", 40),
		"buffer":        []byte{1, 2, 3},
		"empty buffer":  []byte{},
		"date":          jsTime,
		"extended year": time.UnixMilli(8.64e15),
		"nested": map[string]any{"a": []any{true, nil, map[string]any{"b": []byte{9}}}, "c": "x",
			"when": time.Unix(0, 0)},
		"object": upload{Name: "x", Tags: []string{"a", "b"}, Bin: []byte{9, 8}, Count: 3},
		"large containers": map[string]any{"list": func() []int {
			l := make([]int, 20)
			for i := range l {
				l[i] = i * 1000
			}
			return l
		}(), "text": strings.Repeat("z", 300)},
	}
}

type npmValue struct {
	Name    string          `json:"name"`
	Msgpack string          `json:"msgpack"`
	JSON    string          `json:"json"`
	Decoded json.RawMessage `json:"decoded"`
}

// TestInteropValues checks MarshalMsgpack and MarshalJSON against
// notepack.io and JSON.stringify byte for byte, and that MsgpackRaw and
// JSONRaw make of Node's bytes what Node makes of them.
func TestInteropValues(t *testing.T) {
	t.Parallel()
	var npm []npmValue
	require.NoError(t, json.Unmarshal([]byte(nodetest.Run(t, time.Minute, "parser-vectors.mjs", []string{"values"})), &npm))
	vectors := valueVectors()
	require.Len(t, npm, len(vectors), "parser-vectors.mjs and valueVectors list the same values")
	for _, n := range npm {
		t.Run(n.Name, func(t *testing.T) {
			v, ok := vectors[n.Name]
			require.True(t, ok, "value %s is missing from valueVectors", n.Name)

			mp, err := parser.MarshalMsgpack(v)
			require.NoError(t, err)
			assert.Equal(t, n.Msgpack, hex.EncodeToString(mp), "MarshalMsgpack")
			js, err := parser.MarshalJSON(v)
			require.NoError(t, err)
			assert.Equal(t, n.JSON, string(js), "MarshalJSON")

			// Node's msgpack, wrapped, decodes to what notepack.io decodes,
			// and is written back unchanged.
			nodeBytes, err := hex.DecodeString(n.Msgpack)
			require.NoError(t, err)
			r, err := parser.MsgpackRaw(nodeBytes, parser.Limits{})
			require.NoError(t, err)
			var back any
			require.NoError(t, r.Decode(&back))
			tagged, err := json.Marshal(tagValue(back))
			require.NoError(t, err)
			assert.JSONEq(t, string(n.Decoded), string(tagged))
			again, err := parser.MarshalMsgpack(r)
			require.NoError(t, err)
			assert.Equal(t, nodeBytes, again)

			// Node's JSON, wrapped, is written back unchanged, and decodes
			// to what JSON.parse makes of it.
			jr, err := parser.JSONRaw([]byte(n.JSON), parser.Limits{})
			require.NoError(t, err)
			again, err = parser.MarshalJSON(jr)
			require.NoError(t, err)
			assert.Equal(t, n.JSON, string(again))
			var parsed any
			require.NoError(t, jr.Decode(&parsed))
			gotJSON, err := json.Marshal(parsed)
			require.NoError(t, err)
			assert.JSONEq(t, n.JSON, string(gotJSON))
		})
	}
}

// A wrapped value relayed in a packet is written as the Go value it holds
// would be, by either codec.
func TestValueRawRelay(t *testing.T) {
	t.Parallel()
	for name, v := range valueVectors() {
		mp, err := parser.MarshalMsgpack(v)
		require.NoError(t, err)
		js, err := parser.MarshalJSON(v)
		require.NoError(t, err)
		fromMsgpack, err := parser.MsgpackRaw(mp, parser.Limits{})
		require.NoError(t, err)
		fromJSON, err := parser.JSONRaw(js, parser.Limits{})
		require.NoError(t, err)
		direct, err := parser.Msgpack().Encode(&parser.Packet{Type: parser.Event, Args: []any{"v", v}})
		require.NoError(t, err)
		relayed, err := parser.Msgpack().Encode(&parser.Packet{Type: parser.Event, Args: []any{"v", fromMsgpack}})
		require.NoError(t, err)
		assert.Equal(t, wire(direct), wire(relayed), "msgpack codec relaying the msgpack of %s", name)
		relayed, err = parser.JSON().Encode(&parser.Packet{Type: parser.Event, Args: []any{"v", fromJSON}})
		require.NoError(t, err)
		assert.Equal(t, []string{`text:2["v",` + string(js) + `]`}, wire(relayed), "JSON codec relaying the JSON of %s", name)

		// Across codecs, the value is decoded and written again: the same
		// value as JSON.stringify sees it (a Date sent as JSON is a
		// string), with map keys sorted.
		for codecName, c := range codecs {
			for _, r := range []parser.Raw{fromMsgpack, fromJSON} {
				frames, err := c.Encode(&parser.Packet{Type: parser.Event, Args: []any{"v", r}})
				require.NoError(t, err, "%s relaying %s", codecName, name)
				ms, err := decodeFrames(c, toFrames(frames))
				require.NoError(t, err)
				var got, want any
				require.NoError(t, ms[0].Args[0].Decode(&got))
				require.NoError(t, r.Decode(&want))
				gotJSON, err := parser.MarshalJSON(got)
				require.NoError(t, err)
				wantJSON, err := parser.MarshalJSON(want)
				require.NoError(t, err)
				assert.Equal(t, string(wantJSON), string(gotJSON), "%s relaying %s", codecName, name)
			}
		}
	}
}

func TestMsgpackRaw(t *testing.T) {
	t.Parallel()
	// notepack.io 3 and @msgpack/msgpack write Dates as msgpack
	// timestamps (cluster.md §2.5); the Raw holds notepack.io 2's Date.
	for spec, ms := range map[string]int64{
		`d6 ff 65 53 f1 00`:                            1700000000000,
		`d7 ff 1d 53 53 00 65 53 f1 00`:                1700000000123,
		`c7 0c ff 07 54 d4 c0 ff ff ff ff ff ff ff ff`: -877,
	} {
		r, err := parser.MsgpackRaw(mp(spec), parser.Limits{})
		require.NoError(t, err, spec)
		var when time.Time
		require.NoError(t, r.Decode(&when))
		assert.Equal(t, ms, when.UnixMilli(), spec)
		b, err := parser.MarshalMsgpack(r)
		require.NoError(t, err)
		assert.Equal(t, hex.EncodeToString(mp(`d7 00`)), hex.EncodeToString(b[:2]), spec)
	}

	// Other forms become what notepack.io 2 writes: the smallest integer,
	// float64, and string keys.
	r, err := parser.MsgpackRaw(mp(`82 cd 00 07 ca 3f c0 00 00 c3 d0 05`), parser.Limits{})
	require.NoError(t, err)
	b, err := parser.MarshalMsgpack(r)
	require.NoError(t, err)
	assert.Equal(t, mp(`82 '7' cb 3f f8 00 00 00 00 00 00 'true' 05`), b)

	// The Raw keeps a copy.
	in := mp(`92 01 02`)
	r, err = parser.MsgpackRaw(in, parser.Limits{})
	require.NoError(t, err)
	in[1] = 9
	var list []int
	require.NoError(t, r.Decode(&list))
	assert.Equal(t, []int{1, 2}, list)

	for name, tt := range map[string]struct {
		spec   string
		limits parser.Limits
	}{
		"empty":                    {``, parser.Limits{}},
		"truncated":                {`92 01`, parser.Limits{}},
		"two values":               {`01 02`, parser.Limits{}},
		"an unknown code":          {`c1`, parser.Limits{}},
		"an array as a map key":    {`81 90 01`, parser.Limits{}},
		"beyond MaxElements":       {`92 01 91 02`, parser.Limits{MaxElements: 2}},
		"beyond MaxDepth":          {`91 91 91 00`, parser.Limits{MaxDepth: 2}},
		"beyond the default depth": {strings.Repeat("91 ", 1001) + "00", parser.Limits{}},
	} {
		_, err := parser.MsgpackRaw(mp(tt.spec), tt.limits)
		require.ErrorIs(t, err, parser.ErrInvalidPacket, name)
		var pe *parser.PacketError
		require.ErrorAs(t, err, &pe, name)
		assert.Equal(t, "decode", pe.Op, name)
		assert.Equal(t, "msgpack", pe.Codec, name)
	}
	_, err = parser.MsgpackRaw(mp(`92 01 91 02`), parser.Limits{MaxElements: 3, MaxArgs: 1})
	assert.NoError(t, err, "MaxArgs does not apply to a value")
}

func TestJSONRaw(t *testing.T) {
	t.Parallel()
	r, err := parser.JSONRaw([]byte(" {\"a\": [1, 2.5, \"x\", {\"type\":\"Buffer\",\"data\":[1]}]}\n"), parser.Limits{})
	require.NoError(t, err)
	var v any
	require.NoError(t, r.Decode(&v))
	assert.Equal(t, map[string]any{"a": []any{int64(1), 2.5, "x", map[string]any{"type": "Buffer", "data": []any{int64(1)}}}}, v)
	b, err := parser.MarshalJSON(r)
	require.NoError(t, err)
	assert.Equal(t, `{"a": [1, 2.5, "x", {"type":"Buffer","data":[1]}]}`, string(b), "kept as written")

	// No attachments: a placeholder-shaped object is an object.
	r, err = parser.JSONRaw([]byte(`{"_placeholder":true,"num":0}`), parser.Limits{})
	require.NoError(t, err)
	require.NoError(t, r.Decode(&v))
	assert.Equal(t, map[string]any{"_placeholder": true, "num": int64(0)}, v)

	for name, tt := range map[string]struct {
		text   string
		limits parser.Limits
	}{
		"empty":              {``, parser.Limits{}},
		"spaces":             {`  `, parser.Limits{}},
		"two values":         {`1 2`, parser.Limits{}},
		"not JSON":           {`{a:1}`, parser.Limits{}},
		"beyond MaxElements": {`[1,[2]]`, parser.Limits{MaxElements: 2}},
		"beyond MaxDepth":    {`[[[0]]]`, parser.Limits{MaxDepth: 2}},
	} {
		_, err := parser.JSONRaw([]byte(tt.text), tt.limits)
		require.ErrorIs(t, err, parser.ErrInvalidPacket, name)
		var pe *parser.PacketError
		require.ErrorAs(t, err, &pe, name)
		assert.Equal(t, "json", pe.Codec, name)
	}
}

func TestMarshalValue(t *testing.T) {
	t.Parallel()
	// Binary inside structs, Raw values and times, as JSON.stringify writes
	// them; the JSON codec's attachments travel as Buffers.
	m := decodeOne(t, parser.JSON(), text(`51-["x",{"b":`+ph0+`}]`), bin(7, 8))
	b, err := parser.MarshalJSON(timesHolder{Bin: []byte{1}, Ptr: &jsTime, Any: m.Args[0]})
	require.NoError(t, err)
	assert.Equal(t, `{"list":null,"byName":null,"ptr":"2026-12-07T06:00:00.123Z","any":{"b":{"type":"Buffer","data":[7,8]}},`+
		`"arr":["0001-01-01T00:00:00.000Z"],"bin":{"type":"Buffer","data":[1]},"text":""}`, string(b))
	b, err = parser.MarshalMsgpack(m.Args[0])
	require.NoError(t, err)
	assert.Equal(t, mp(`81 'b' c4 02 07 08`), b)

	for _, f := range []func(any) ([]byte, error){parser.MarshalMsgpack, parser.MarshalJSON} {
		_, err := f(make(chan int))
		require.ErrorIs(t, err, parser.ErrInvalidPacket)
		var pe *parser.PacketError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "encode", pe.Op)
	}
}
