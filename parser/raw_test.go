package parser_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ferryio/ferry/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func decodeOne(t *testing.T, c parser.Codec, frames ...frame) *parser.Message {
	t.Helper()
	ms, err := decodeFrames(c, frames)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	return ms[0]
}

type fileArg struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
	Meta any    `json:"meta"`
	Size int    `json:"size"`
}

func TestJSONRawDecode(t *testing.T) {
	t.Parallel()
	m := decodeOne(t, parser.JSON(),
		text(`52-/files,9["upload",{"name":"a.txt","data":`+ph1+`,"meta":`+ph0+`,"size":2},`+ph0+`,[1,2.5,-3,18446744073709551615,1e400]]`),
		bin(0xaa), bin(0x68, 0x69))
	assert.Equal(t, parser.Event, m.Type)
	assert.Equal(t, "/files", m.Namespace)
	assert.Equal(t, uint64(9), m.ID)
	assert.True(t, m.HasID)
	assert.Equal(t, "upload", m.Event)
	require.Len(t, m.Args, 3)

	// Into a struct: []byte fields and interface fields get the
	// attachment.
	var f fileArg
	require.NoError(t, m.Args[0].Decode(&f))
	assert.Equal(t, fileArg{Name: "a.txt", Data: []byte("hi"), Meta: []byte{0xaa}, Size: 2}, f)

	// Into *any: []byte for every placeholder, int64 for integers.
	var v any
	require.NoError(t, m.Args[0].Decode(&v))
	assert.Equal(t, map[string]any{"name": "a.txt", "data": []byte("hi"), "meta": []byte{0xaa}, "size": int64(2)}, v)

	var b []byte
	require.NoError(t, m.Args[1].Decode(&b))
	assert.Equal(t, []byte{0xaa}, b)

	var list []any
	require.NoError(t, m.Args[2].Decode(&list))
	require.Len(t, list, 5)
	assert.Equal(t, []any{int64(1), 2.5, int64(-3), uint64(18446744073709551615)}, list[:4])
	assert.Greater(t, list[4].(float64), 1e308, "1e400 overflows to +Inf, as in JSON.parse")

	var obj map[string]any
	require.NoError(t, m.Args[0].Decode(&obj))
	assert.Equal(t, []byte("hi"), obj["data"])

	// Each Decode returns fresh memory.
	var again any
	require.NoError(t, m.Args[1].Decode(&again))
	again.([]byte)[0] = 0
	require.NoError(t, m.Args[1].Decode(&b))
	assert.Equal(t, []byte{0xaa}, b)

	// Mismatched targets give encoding/json's errors, not ErrInvalidPacket.
	var s string
	err := m.Args[0].Decode(&s)
	var typeErr *json.UnmarshalTypeError
	assert.ErrorAs(t, err, &typeErr)
	assert.NotErrorIs(t, err, parser.ErrInvalidPacket)
	assert.ErrorAs(t, m.Args[0].Decode(&list), &typeErr)
	assert.ErrorAs(t, m.Args[2].Decode(&obj), &typeErr)
}

type binLeaf struct {
	V any `json:"v"`
}

type binPromoted struct {
	Promoted any `json:"promoted"`
}

type binHolder struct {
	Any    any                `json:"any"`
	Map    map[string]any     `json:"map"`
	List   []any              `json:"list"`
	Bytes  []byte             `json:"bytes"`
	Nested *binHolder         `json:"nested"`
	ByKey  map[string]binLeaf `json:"byKey"`
	Leaves []binLeaf          `json:"leaves"`
	Array  [2]any             `json:"array"`
	// Text receives an attachment as base64; Twin is a string equal to
	// one, which stays a string.
	Text string `json:"text"`
	Twin any    `json:"twin"`
	binPromoted
}

// Binary arguments decode into []byte wherever the target holds an
// interface value, with either codec, and into []byte fields; a string
// field gets base64.
func TestRawDecodeBinaryIntoInterfaces(t *testing.T) {
	t.Parallel()
	one, two, three := []byte{1}, []byte{2, 2}, []byte{3, 3, 3}
	arg := map[string]any{
		"any": one, "map": map[string]any{"deep": []any{two}}, "list": []any{three, "s"}, "bytes": two,
		"nested": map[string]any{"any": three},
		"byKey":  map[string]any{"a": map[string]any{"v": two}},
		"leaves": []any{map[string]any{"v": one}}, "array": []any{nil, two},
		"text": three, "twin": "AQ==", "promoted": two,
	}
	want := binHolder{
		Any: one, Map: map[string]any{"deep": []any{two}}, List: []any{three, "s"}, Bytes: two,
		Nested: &binHolder{Any: three},
		ByKey:  map[string]binLeaf{"a": {V: two}},
		Leaves: []binLeaf{{V: one}}, Array: [2]any{nil, two},
		Text: "AwMD", Twin: "AQ==", binPromoted: binPromoted{Promoted: two},
	}
	for name, c := range codecs {
		t.Run(name, func(t *testing.T) {
			frames, err := c.Encode(&parser.Packet{Type: parser.Event, Args: []any{"x", arg}})
			require.NoError(t, err)
			var fs []frame
			for _, f := range frames {
				fs = append(fs, frame{data: f.Data, binary: f.Binary})
			}
			m := decodeOne(t, c, fs...)
			var got binHolder
			require.NoError(t, m.Args[0].Decode(&got))
			want := want
			if name == "msgpack" {
				want.Text = "\x03\x03\x03" // the msgpack library gives a string field the bytes
			}
			assert.Equal(t, want, got)
		})
	}

	// Keys are matched as encoding/json matches them: integer map keys,
	// struct fields without regard to case. A string field keeps base64.
	m := decodeOne(t, parser.JSON(), text(`52-["x",{"7":`+ph0+`},{"ANY":`+ph1+`,"Text":`+ph1+`}]`), bin(1), bin(2))
	var byNum map[int]any
	require.NoError(t, m.Args[0].Decode(&byNum))
	assert.Equal(t, map[int]any{7: []byte{1}}, byNum)
	var folded binHolder
	require.NoError(t, m.Args[1].Decode(&folded))
	assert.Equal(t, binHolder{Any: []byte{2}, Text: "Ag=="}, folded)
}

func TestRawDecodeTargets(t *testing.T) {
	t.Parallel()
	for name, c := range codecs {
		t.Run(name, func(t *testing.T) {
			frames, err := c.Encode(&parser.Packet{Type: parser.Event, Args: []any{"x", map[string]any{"a": 1}, nil}})
			require.NoError(t, err)
			var fs []frame
			for _, f := range frames {
				fs = append(fs, frame{data: f.Data, binary: f.Binary})
			}
			m := decodeOne(t, c, fs...)
			var v any
			assert.Error(t, m.Args[0].Decode(nil))
			assert.Error(t, m.Args[0].Decode(v))
			assert.Error(t, m.Args[0].Decode((*any)(nil)))
			assert.Error(t, m.Args[0].Decode((*map[string]any)(nil)))
			assert.Error(t, m.Args[0].Decode((*fileArg)(nil)))

			var obj map[string]any
			require.NoError(t, m.Args[0].Decode(&obj))
			assert.Equal(t, map[string]any{"a": int64(1)}, obj)
			obj = map[string]any{"stale": true}
			require.NoError(t, m.Args[1].Decode(&obj))
			assert.Nil(t, obj)
			list := []any{1}
			require.NoError(t, m.Args[1].Decode(&list))
			assert.Nil(t, list)
		})
	}
}

type typed struct {
	Name  string    `json:"name"`
	Data  []byte    `json:"data"`
	Typed []byte    `json:"typed"`
	When  time.Time `json:"when"`
	Count int       `json:"count"`
	Big   uint64    `json:"big"`
	Any   any       `json:"any"`
	Ratio float64   `json:"ratio"`
}

func TestMsgpackRawDecode(t *testing.T) {
	t.Parallel()
	m := decodeOne(t, parser.Msgpack(), binSpec(`84 'type' 02 'data' 93 'up' 88 'name' 'a' 'data' c4 02 01 02 'typed' c7 01 00 05 'when' d7 00 00 00 01 8b cf e5 68 7b `+
		`'count' 2a 'big' cf ff ff ff ff ff ff ff ff 'any' 92 cc c8 c4 01 09 'ratio' 03 `+
		`93 d4 00 00 d6 07 01 02 03 04 ca 3f c0 00 00 'options' 80 'nsp' '/'`))
	require.Len(t, m.Args, 2)
	var got typed
	require.NoError(t, m.Args[0].Decode(&got))
	assert.Equal(t, "a", got.Name)
	assert.Equal(t, []byte{1, 2}, got.Data)
	assert.Equal(t, []byte{5}, got.Typed, "ext type 0 decodes into []byte")
	assert.Equal(t, int64(1700000000123), got.When.UnixMilli())
	assert.Equal(t, 42, got.Count)
	assert.Equal(t, uint64(18446744073709551615), got.Big)
	assert.Equal(t, 3.0, got.Ratio)

	// An interface field holds the same forms as a *any target.
	var v any
	require.NoError(t, m.Args[0].Decode(&v))
	assert.Equal(t, got.Any, v.(map[string]any)["any"])
	assert.Equal(t, []any{int64(200), []byte{9}}, got.Any)

	var rest []any
	require.NoError(t, m.Args[1].Decode(&rest))
	assert.Equal(t, []any{nil, []any{int64(7), []byte{1, 2, 3, 4}}, 1.5}, rest,
		"undefined is nil, another ext type is [type, bytes], float32 widens")

	var s string
	assert.Error(t, m.Args[1].Decode(&s))
	assert.Error(t, m.Args[0].Decode(&rest))
}

// A Raw encoded again by its own codec keeps the peer's bytes.
func TestRawRelay(t *testing.T) {
	t.Parallel()
	t.Run("msgpack", func(t *testing.T) {
		m := decodeOne(t, parser.Msgpack(), binSpec(`84 'type' 02 'data' 94 'typed' c7 03 00 01 02 03 d4 00 00 cb 40 00 00 00 00 00 00 00 'options' 80 'nsp' '/'`))
		args := []any{"relay"}
		for _, a := range m.Args {
			args = append(args, a)
		}
		frames, err := parser.Msgpack().Encode(&parser.Packet{Type: parser.Event, Args: args})
		require.NoError(t, err)
		assert.Equal(t, mp(`83 'type' 02 'data' 94 'relay' c7 03 00 01 02 03 d4 00 00 cb 40 00 00 00 00 00 00 00 'nsp' '/'`), frames[0].Data)
	})
	t.Run("json renumbers placeholders", func(t *testing.T) {
		m := decodeOne(t, parser.JSON(), text(`52-["x",{"k": `+ph1+`},[`+ph0+`]]`), bin(1), bin(2))
		frames, err := parser.JSON().Encode(&parser.Packet{Type: parser.Ack, HasID: true, Args: []any{m.Args[1], "mid", m.Args[0]}})
		require.NoError(t, err)
		assert.Equal(t, []string{"text:62-0[[" + ph0 + `],"mid",{"k":` + ph1 + "}]", "bin:01", "bin:02"}, wire(frames))

		// A Raw inside a struct goes through encoding/json, and still
		// travels as attachments.
		type envelope struct {
			Raw  parser.Raw `json:"raw"`
			Tail []byte     `json:"tail"`
		}
		frames, err = parser.JSON().Encode(&parser.Packet{Type: parser.Event, Args: []any{"wrap", envelope{Raw: m.Args[0], Tail: []byte{3}}}})
		require.NoError(t, err)
		assert.Equal(t, []string{`text:52-["wrap",{"raw":{"k":` + ph0 + `},"tail":` + ph1 + "}]", "bin:02", "bin:03"}, wire(frames))
		frames, err = parser.JSON().Encode(&parser.Packet{Type: parser.Event, Args: []any{"plain", envelope{Raw: m.Args[0]}}})
		require.NoError(t, err)
		assert.Equal(t, []string{`text:51-["plain",{"raw":{"k":` + ph0 + `},"tail":null}]`, "bin:02"}, wire(frames))
	})
	t.Run("across codecs", func(t *testing.T) {
		fromMsgpack := decodeOne(t, parser.Msgpack(), binSpec(`83 'type' 02 'data' 92 'm' 82 'b' c4 01 07 'n' 01 'nsp' '/'`))
		fromJSON := decodeOne(t, parser.JSON(), text(`51-["j",{"b":`+ph0+`,"n":1}]`), bin(7))

		frames, err := parser.JSON().Encode(&parser.Packet{Type: parser.Event, Args: []any{"x", fromMsgpack.Args[0]}})
		require.NoError(t, err)
		assert.Equal(t, []string{`text:51-["x",{"b":` + ph0 + `,"n":1}]`, "bin:07"}, wire(frames))
		type held struct {
			V parser.Raw `json:"v"`
		}
		frames, err = parser.JSON().Encode(&parser.Packet{Type: parser.Event, Args: []any{"x", held{fromMsgpack.Args[0]}}})
		require.NoError(t, err)
		assert.Equal(t, []string{`text:51-["x",{"v":{"b":` + ph0 + `,"n":1}}]`, "bin:07"}, wire(frames))

		frames, err = parser.Msgpack().Encode(&parser.Packet{Type: parser.Event, Args: []any{"x", fromJSON.Args[0]}})
		require.NoError(t, err)
		assert.Equal(t, mp(`83 'type' 02 'data' 92 'x' 82 'b' c4 01 07 'n' 01 'nsp' '/'`), frames[0].Data)
		frames, err = parser.Msgpack().Encode(&parser.Packet{Type: parser.Event, Args: []any{"x", held{fromJSON.Args[0]}}})
		require.NoError(t, err)
		assert.Equal(t, mp(`83 'type' 02 'data' 92 'x' 81 'v' 82 'b' c4 01 07 'n' 01 'nsp' '/'`), frames[0].Data)

		// A msgpack Date goes to JSON as JSON.stringify writes it, relayed
		// or embedded by encoding/json.
		dates := decodeOne(t, parser.Msgpack(), binSpec(`83 'type' 02 'data' 92 'd' 81 'at' d7 00 00 00 01 a2 4f 16 6f 7b 'nsp' '/'`))
		frames, err = parser.JSON().Encode(&parser.Packet{Type: parser.Event, Args: []any{"x", dates.Args[0], held{dates.Args[0]}}})
		require.NoError(t, err)
		assert.Equal(t, []string{`text:2["x",{"at":"2026-12-07T06:00:00.123Z"},{"v":{"at":"2026-12-07T06:00:00.123Z"}}]`}, wire(frames))
		embedded, err := json.Marshal(held{dates.Args[0]})
		require.NoError(t, err)
		assert.JSONEq(t, `{"v":{"at":"2026-12-07T06:00:00.123Z"}}`, string(embedded))

		// A Raw as the event name is checked like any other name.
		name := decodeOne(t, parser.JSON(), text(`2["x","disconnect",7]`))
		_, err = parser.Msgpack().Encode(&parser.Packet{Type: parser.Event, Args: []any{name.Args[0]}})
		assert.ErrorIs(t, err, parser.ErrInvalidPacket)
		frames, err = parser.Msgpack().Encode(&parser.Packet{Type: parser.Event, Args: []any{name.Args[1]}})
		require.NoError(t, err)
		assert.Equal(t, mp(`83 'type' 02 'data' 91 07 'nsp' '/'`), frames[0].Data)
	})
}

// A JSON argument decoded into *string, *bool, *float64, *int or *int64
// gets what encoding/json.Unmarshal gives, error or not, the target's old
// value kept where Unmarshal keeps it.
func TestJSONScalarTargetsMatchUnmarshal(t *testing.T) {
	t.Parallel()
	literals := []string{
		`null`, `true`, `false`, `0`, `-0`, `42`, `-42`, `1.5`, `-1.5e-7`, `1e2`, `1E+2`, `1.0`,
		`9223372036854775807`, `9223372036854775808`, `-9223372036854775809`, `1e400`, `-1e400`,
		`123456789012345678901234567890`, `""`, `"x"`, `"a\"b\\c\u00e9\n"`, "\"\xff\xfe\"", `"\ud800"`,
		`"42"`, `"true"`, `[]`, `[1]`, `{}`, `{"a":1}`,
	}
	targets := []struct {
		name string
		make func() any // a pointer to a non-zero value
	}{
		{"string", func() any { s := "old"; return &s }},
		{"bool", func() any { b := true; return &b }},
		{"float64", func() any { f := 7.5; return &f }},
		{"int", func() any { n := 7; return &n }},
		{"int64", func() any { n := int64(7); return &n }},
	}
	for _, lit := range literals {
		m := decodeOne(t, parser.JSON(), text(`2["e",`+lit+`]`))
		require.Len(t, m.Args, 1)
		for _, tg := range targets {
			got, want := tg.make(), tg.make()
			gotErr := m.Args[0].Decode(got)
			wantErr := json.Unmarshal([]byte(lit), want)
			assert.Equal(t, want, got, "%s into *%s", lit, tg.name)
			assert.Equal(t, wantErr, gotErr, "%s into *%s", lit, tg.name)
		}
	}
}
