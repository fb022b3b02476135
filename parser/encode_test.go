package parser_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ferryio/ferry/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// protocol.md §2.2: output of socket.io-parser's Encoder.
func TestJSONEncodeWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		packet parser.Packet
		want   []string // text frames as is, binary frames as "bin:<hex>"
	}{
		{"CONNECT /", parser.Packet{Type: parser.Connect}, []string{`0`}},
		{"CONNECT /admin with auth", parser.Packet{Type: parser.Connect, Namespace: "/admin", Payload: map[string]any{"token": "123"}},
			[]string{`0/admin,{"token":"123"}`}},
		{"CONNECT reply", parser.Packet{Type: parser.Connect, Payload: map[string]any{"sid": "SID"}}, []string{`0{"sid":"SID"}`}},
		{"CONNECT_ERROR", parser.Packet{Type: parser.ConnectError, Payload: refusal{"not authorized", map[string]any{"reason": "demo"}}},
			[]string{`4{"message":"not authorized","data":{"reason":"demo"}}`}},
		{"CONNECT_ERROR string", parser.Packet{Type: parser.ConnectError, Payload: "nope"}, []string{`4"nope"`}},
		{"EVENT", parser.Packet{Type: parser.Event, Args: []any{"hello", 1, map[string]any{"a": []any{true, nil}}}},
			[]string{`2["hello",1,{"a":[true,null]}]`}},
		{"EVENT /admin ack 12", parser.Packet{Type: parser.Event, Namespace: "/admin", ID: 12, HasID: true, Args: []any{"hello"}},
			[]string{`2/admin,12["hello"]`}},
		{"ACK /admin 12", parser.Packet{Type: parser.Ack, Namespace: "/admin", ID: 12, HasID: true}, []string{`3/admin,12[]`}},
		{"ACK id 0", parser.Packet{Type: parser.Ack, HasID: true}, []string{`30[]`}},
		{"BINARY_EVENT", parser.Packet{Type: parser.Event, Args: []any{"bin", []byte{1, 2}, map[string]any{"x": []byte{3}}}},
			[]string{`52-["bin",` + ph0 + `,{"x":` + ph1 + `}]`, "bin:0102", "bin:03"}},
		{"BINARY_ACK id 7", parser.Packet{Type: parser.Ack, ID: 7, HasID: true, Args: []any{[]byte{0xff}}},
			[]string{`61-7[` + ph0 + `]`, "bin:ff"}},
		{"BinaryEvent given by the caller", parser.Packet{Type: parser.BinaryEvent, Args: []any{"x"}}, []string{`2["x"]`}},
		{"DISCONNECT /admin", parser.Packet{Type: parser.Disconnect, Namespace: "/admin"}, []string{`1/admin,`}},
		{"DISCONNECT /", parser.Packet{Type: parser.Disconnect, Namespace: "/"}, []string{`1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := parser.JSON().Encode(&tt.packet)
			require.NoError(t, err)
			got := make([]string, len(frames))
			for i, f := range frames {
				got[i] = string(f.Data)
				if f.Binary {
					got[i] = "bin:" + hex.EncodeToString(f.Data)
				}
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// protocol.md §3.4: bytes from the real encoder, for the packets the Go
// side writes the same way.
func TestMsgpackEncodeWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		packet parser.Packet
		want   string
	}{
		{"client CONNECT with auth", parser.Packet{Type: parser.Connect, Payload: map[string]any{"token": "123"}},
			`83 'type' 00 'data' 81 'token' '123' 'nsp' '/'`},
		{"client CONNECT without auth: no data key", parser.Packet{Type: parser.Connect}, `82 'type' 00 'nsp' '/'`},
		{"server EVENT", parser.Packet{Type: parser.Event, Args: []any{"hi", 1}},
			`83 a4 74 79 70 65 02 a4 64 61 74 61 92 a2 68 69 01 a3 6e 73 70 a1 2f`},
		{"EVENT with ack id 0", parser.Packet{Type: parser.Event, HasID: true, Args: []any{"m", "hi", []byte{1, 2}}},
			`84 'type' 02 'data' 93 'm' 'hi' c4 02 01 02 'id' 00 'nsp' '/'`},
		{"server ACK", parser.Packet{Type: parser.Ack, HasID: true, Args: []any{"hi", []byte{1, 2}}},
			`84 'id' 00 'type' 03 'data' 92 'hi' c4 02 01 02 'nsp' '/'`},
		{"CONNECT_ERROR", parser.Packet{Type: parser.ConnectError, Namespace: "/admin", Payload: refusal{"not authorized", map[string]any{"reason": "demo"}}},
			`83 'type' 04 'data' 82 'message' 'not authorized' 'data' 81 'reason' 'demo' 'nsp' '/admin'`},
		{"DISCONNECT", parser.Packet{Type: parser.Disconnect}, `82 a4 74 79 70 65 01 a3 6e 73 70 a1 2f`},
		{"large ack id", parser.Packet{Type: parser.Ack, ID: 1 << 40, HasID: true},
			`84 'id' cf 00 00 01 00 00 00 00 00 'type' 03 'data' 90 'nsp' '/'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := parser.Msgpack().Encode(&tt.packet)
			require.NoError(t, err)
			require.Len(t, frames, 1)
			assert.True(t, frames[0].Binary)
			assert.Equal(t, hex.EncodeToString(mp(tt.want)), hex.EncodeToString(frames[0].Data))
		})
	}
}

type treeNode struct {
	Name     string      `json:"name"`
	Parent   *treeNode   `json:"-"`
	Children []*treeNode `json:"children"`
}

type myInt int
type myString string
type blob []byte

// jsTime is 2026-12-07T06:00:00.123456789Z, in a zone of its own.
var jsTime = time.Date(2026, 12, 7, 7, 0, 0, 123456789, time.FixedZone("CET", 3600))

type timesHolder struct {
	List   []time.Time          `json:"list"`
	ByName map[string]time.Time `json:"byName"`
	Ptr    *time.Time           `json:"ptr"`
	Any    any                  `json:"any"`
	Arr    [1]time.Time         `json:"arr"`
	Bin    []byte               `json:"bin"`
	// Text is a string that looks like a time, which stays as it is.
	Text string `json:"text"`
}

type omitted struct {
	At    time.Time   `json:"at,omitzero"`
	Bin   []byte      `json:"bin,omitzero"`
	Inner timesHolder `json:"inner,omitzero"`
}

type stamped struct {
	At    time.Time `json:"at"`
	Ratio float64   `json:"ratio"`
	Small float32   `json:"small"`
}

// Values are written as notepack.io writes the equivalent JavaScript value.
func TestMsgpackValueForms(t *testing.T) {
	t.Parallel()
	ms := time.UnixMilli(1700000000123)
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"integral float64 as an integer", 3.0, `03`},
		{"negative integral float64", -200.0, `d1 ff 38`},
		{"fractional float64", 1.5, `cb 3f f8 00 00 00 00 00 00`},
		{"float32 widened", float32(1.5), `cb 3f f8 00 00 00 00 00 00`},
		{"NaN in JavaScript's bit pattern", math.NaN(), `cb 7f f8 00 00 00 00 00 00`},
		{"+Inf", math.Inf(1), `cb 7f f0 00 00 00 00 00 00`},
		{"float beyond uint64 stays a float", 1e20, `cb 44 15 af 1d 78 b5 8c 40`},
		{"uint64 max", uint64(math.MaxUint64), `cf ff ff ff ff ff ff ff ff`},
		{"int64 min", int64(math.MinInt64), `d3 80 00 00 00 00 00 00 00`},
		{"time.Time as a Date", ms, `d7 00 00 00 01 8b cf e5 68 7b`},
		{"named int", myInt(5), `05`},
		{"named string", myString("ab"), `'ab'`},
		{"named byte slice", blob{1}, `c4 01 01`},
		{"nil []byte", []byte(nil), `c0`},
		{"nil pointer", (*int)(nil), `c0`},
		{"pointer", func() *int { v := 7; return &v }(), `07`},
		{"typed map, sorted keys", map[string]int{"b": 2, "a": 1, "c": 3}, `83 'a' 01 'b' 02 'c' 03`},
		{"integer keys become strings", map[int]string{10: "x", 9: "y"}, `82 '10' 'x' '9' 'y'`},
		{"array", [3]int{1, 2, 3}, `93 01 02 03`},
		{"typed slice", []string{"a"}, `91 'a'`},
		{"struct through the msgpack library, rewritten", stamped{At: ms, Ratio: 2, Small: 0.5},
			`83 'at' d7 00 00 00 01 8b cf e5 68 7b 'ratio' 02 'small' cb 3f e0 00 00 00 00 00 00`},
		{"msgpack.RawMessage is copied", msgpack.RawMessage(mp(`92 01 02`)), `92 01 02`},
		{"nested structs in []any", []any{refusal{Message: "m"}}, `91 82 'message' 'm' 'data' c0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := parser.Msgpack().Encode(&parser.Packet{Type: parser.Ack, HasID: true, Args: []any{tt.value}})
			require.NoError(t, err)
			want := mp(`84 'id' 00 'type' 03 'data' 91 ` + tt.want + ` 'nsp' '/'`)
			assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(frames[0].Data))
		})
	}
}

// Values are written as JSON.stringify writes the equivalent JavaScript
// value.
func TestJSONValueForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"1e21", 1e21, `1e+21`},
		{"1e-7", 1e-7, `1e-7`},
		{"1.23e-18", 123e-20, `1.23e-18`},
		{"0.000001", 0.000001, `0.000001`},
		{"1e20", 1e20, `100000000000000000000`},
		{"negative zero", math.Copysign(0, -1), `0`},
		{"float32", float32(0.1), `0.1`},
		{"NaN", math.NaN(), `null`},
		{"-Inf", math.Inf(-1), `null`},
		{"uint64 max", uint64(math.MaxUint64), `18446744073709551615`},
		{"escapes", "\"\\\b\f\n\r\t\x00\x1f\x7f<>&\u2028", `"\"\\\b\f\n\r\t\u0000\u001f` + "\x7f<>&\u2028" + `"`},
		{"invalid UTF-8", "a\xffb", `"a` + "\ufffd" + `b"`},
		{"typed map through encoding/json", map[string]int{"b": 2, "a": 1}, `{"a":1,"b":2}`},
		{"no HTML escaping in structs", refusal{Message: "<&>"}, `{"message":"<&>","data":null}`},
		{"json.RawMessage is copied", json.RawMessage(`{"z":1, "a":2}`), `{"z":1,"a":2}`},
		{"time.Time as a Date", time.UnixMilli(1700000000123).UTC(), `"2023-11-14T22:13:20.123Z"`},
		{"time.Time in another zone, below the millisecond", time.Date(2026, 12, 7, 7, 0, 0, 123999999, time.FixedZone("CET", 3600)),
			`"2026-12-07T06:00:00.123Z"`},
		{"time.Time on a whole second", time.Unix(1700000000, 0), `"2023-11-14T22:13:20.000Z"`},
		{"time.Time just before the epoch", time.Unix(0, -1), `"1969-12-31T23:59:59.999Z"`},
		{"time.Time zero", time.Time{}, `"0001-01-01T00:00:00.000Z"`},
		{"year 0", time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), `"0000-01-01T00:00:00.000Z"`},
		{"year -1", time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC), `"-000001-12-31T23:59:59.000Z"`},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), `"+010000-01-01T00:00:00.000Z"`},
		{"the last JavaScript Date", time.UnixMilli(8.64e15), `"+275760-09-13T00:00:00.000Z"`},
		{"the first JavaScript Date", time.UnixMilli(-8.64e15), `"-271821-04-20T00:00:00.000Z"`},
		{"beyond JavaScript's Dates", time.UnixMilli(8.64e15 + 1), `null`},
		{"before JavaScript's Dates", time.UnixMilli(-8.64e15 - 1), `null`},
		{"far beyond", time.Unix(1<<62, 0), `null`},
		{"*time.Time", &jsTime, `"2026-12-07T06:00:00.123Z"`},
		{"nil *time.Time", (*time.Time)(nil), `null`},
		{"time.Time in a map", map[string]any{"t": jsTime}, `{"t":"2026-12-07T06:00:00.123Z"}`},
		{"time.Time in a struct", stamped{At: jsTime}, `{"at":"2026-12-07T06:00:00.123Z","ratio":0,"small":0}`},
		{"times in typed containers", timesHolder{
			List: []time.Time{jsTime, time.UnixMilli(8.64e15 + 1)}, ByName: map[string]time.Time{"a": time.Unix(0, 0)},
			Ptr: &jsTime, Any: []any{jsTime}, Arr: [1]time.Time{time.UnixMilli(1)}, Bin: []byte{1},
			Text: jsTime.Format(time.RFC3339Nano)},
			`{"list":["2026-12-07T06:00:00.123Z",null],"byName":{"a":"1970-01-01T00:00:00.000Z"},` +
				`"ptr":"2026-12-07T06:00:00.123Z","any":["2026-12-07T06:00:00.123Z"],"arr":["1970-01-01T00:00:00.001Z"],` +
				`"bin":{"_placeholder":true,"num":0},"text":"2026-12-07T07:00:00.123456789+01:00"}`},
		{"zero times and binary left out by omitzero", omitted{}, `{}`},
		{"times and binary kept by omitzero", omitted{At: jsTime, Bin: []byte{}, Inner: timesHolder{Arr: [1]time.Time{jsTime}}},
			`{"at":"2026-12-07T06:00:00.123Z","bin":{"_placeholder":true,"num":0},"inner":{"list":null,"byName":null,"ptr":null,` +
				`"any":null,"arr":["2026-12-07T06:00:00.123Z"],"bin":null,"text":""}}`},
		{"nil map", map[string]any(nil), `null`},
		{"nil []any", []any(nil), `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := parser.JSON().Encode(&parser.Packet{Type: parser.Ack, HasID: true, Args: []any{tt.value}})
			require.NoError(t, err)
			header := `30[`
			if len(frames) > 1 {
				header = fmt.Sprintf(`6%d-0[`, len(frames)-1)
			}
			assert.Equal(t, header+tt.want+`]`, string(frames[0].Data))
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	cyclic := []any{nil}
	cyclic[0] = cyclic
	cyclicNode := &node{B: []byte{1}}
	cyclicNode.Next = cyclicNode
	tree := &treeNode{Name: "root"}
	tree.Children = []*treeNode{{Name: "leaf", Parent: tree}}
	tooMany := []any{"x"}
	for range 11 {
		tooMany = append(tooMany, []byte{1})
	}
	tests := []struct {
		name   string
		packet *parser.Packet
		codecs []string // the codecs that refuse it: both when empty, neither for "none"
	}{
		{name: "nil packet"},
		{name: "unknown type", packet: &parser.Packet{Type: 7}},
		{name: "namespace without a slash", packet: &parser.Packet{Type: parser.Disconnect, Namespace: "admin"}},
		{name: "namespace with a comma", packet: &parser.Packet{Type: parser.Disconnect, Namespace: "/a,b"}, codecs: []string{"json"}},
		{name: "CONNECT with Args", packet: &parser.Packet{Type: parser.Connect, Args: []any{1}}},
		{name: "CONNECT with an id", packet: &parser.Packet{Type: parser.Connect, HasID: true}},
		{name: "CONNECT payload an array", packet: &parser.Packet{Type: parser.Connect, Payload: []any{1}}},
		{name: "CONNECT payload a string", packet: &parser.Packet{Type: parser.Connect, Payload: "x"}},
		{name: "CONNECT payload a nil map", packet: &parser.Packet{Type: parser.Connect, Payload: map[string]any(nil)}},
		{name: "CONNECT payload with binary", packet: &parser.Packet{Type: parser.Connect, Payload: map[string]any{"b": []byte{1}}}, codecs: []string{"json"}},
		{name: "DISCONNECT with a Payload", packet: &parser.Packet{Type: parser.Disconnect, Payload: map[string]any{}}},
		{name: "DISCONNECT with Args", packet: &parser.Packet{Type: parser.Disconnect, Args: []any{"x"}}},
		{name: "CONNECT_ERROR without a Payload", packet: &parser.Packet{Type: parser.ConnectError}},
		{name: "CONNECT_ERROR payload a number", packet: &parser.Packet{Type: parser.ConnectError, Payload: 1}},
		{name: "CONNECT_ERROR with an id", packet: &parser.Packet{Type: parser.ConnectError, HasID: true, Payload: "x"}},
		{name: "EVENT without a name", packet: &parser.Packet{Type: parser.Event}},
		{name: "EVENT name a boolean", packet: &parser.Packet{Type: parser.Event, Args: []any{true}}},
		{name: "EVENT name nil", packet: &parser.Packet{Type: parser.Event, Args: []any{nil}}},
		{name: "EVENT name NaN", packet: &parser.Packet{Type: parser.Event, Args: []any{math.NaN()}}},
		{name: "EVENT name reserved", packet: &parser.Packet{Type: parser.Event, Args: []any{"disconnect"}}},
		{name: "EVENT name reserved, named type", packet: &parser.Packet{Type: parser.Event, Args: []any{myString("connect")}}},
		{name: "EVENT with a Payload", packet: &parser.Packet{Type: parser.Event, Args: []any{"x"}, Payload: map[string]any{}}},
		{name: "ACK without an id", packet: &parser.Packet{Type: parser.Ack}},
		{name: "ACK with a Payload", packet: &parser.Packet{Type: parser.Ack, HasID: true, Payload: map[string]any{}}},
		{name: "a channel", packet: &parser.Packet{Type: parser.Event, Args: []any{"x", make(chan int)}}},
		{name: "a func in a struct", packet: &parser.Packet{Type: parser.Event, Args: []any{"x", struct{ F func() }{}}}},
		{name: "a cyclic value", packet: &parser.Packet{Type: parser.Event, Args: []any{"x", cyclic}}},
		{name: "a cyclic struct", packet: &parser.Packet{Type: parser.Event, Args: []any{"x", cyclicNode}}},
		{name: "a tree whose parent links are skipped", packet: &parser.Packet{Type: parser.Event, Args: []any{"x", tree}}, codecs: []string{"none"}},
		{name: "more than 10 attachments", packet: &parser.Packet{Type: parser.Event, Args: tooMany}, codecs: []string{"json"}},
		{name: "NaN inside a struct", packet: &parser.Packet{Type: parser.Event, Args: []any{"x", stamped{Ratio: math.NaN()}}}, codecs: []string{"json"}},
	}
	for _, tt := range tests {
		for _, name := range []string{"msgpack", "json"} {
			refuses := len(tt.codecs) == 0 || tt.codecs[0] == name
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				frames, err := codecs[name].Encode(tt.packet)
				if !refuses {
					require.NoError(t, err)
					assert.NotEmpty(t, frames)
					return
				}
				require.Error(t, err)
				assert.Nil(t, frames)
				assert.ErrorIs(t, err, parser.ErrInvalidPacket)
				var pe *parser.PacketError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, name, pe.Codec)
				assert.Equal(t, "encode", pe.Op)
				assert.True(t, strings.HasPrefix(err.Error(), "parser: "+name+" encode: "), err.Error())
			})
		}
	}
}

func TestTypeString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "CONNECT", parser.Connect.String())
	assert.Equal(t, "BINARY_ACK", parser.BinaryAck.String())
	assert.Equal(t, "Type(9)", parser.Type(9).String())
}

func TestIsReserved(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		assert.True(t, parser.IsReserved(name), name)
	}
	for _, name := range []string{"", "message", "Connect", "disconnect ", "error"} {
		assert.False(t, parser.IsReserved(name), name)
	}
}

func TestCodecNames(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "msgpack", parser.Msgpack().Name())
	assert.Equal(t, "json", parser.JSON().Name())
}
