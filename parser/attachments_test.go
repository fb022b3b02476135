package parser_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ferryio/ferry/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type Embedded struct {
	X []byte `json:"x"`
}

type hiddenEmbedded struct {
	Y []byte `json:"y"`
}

type inner struct {
	C []byte `json:"c"`
}

type outer struct {
	A    []byte            `json:"a"`
	B    *inner            `json:"b"`
	M    map[string][]byte `json:"m"`
	L    []inner           `json:"l"`
	I    any               `json:"i"`
	E    []byte            `json:"e,omitempty"`
	N    []byte            `json:"n"`
	Z    []byte            `json:"z"`
	Skip []byte            `json:"-"`
	Blob blob              `json:"blob"`
	Embedded
	hidden []byte
}

type selfMarshalled struct {
	B []byte
}

func (selfMarshalled) MarshalJSON() ([]byte, error) { return []byte(`{"custom":true}`), nil }

type node struct {
	Next *node  `json:"next"`
	B    []byte `json:"b"`
}

// The JSON codec finds binary inside values it hands to encoding/json and
// sends it as attachments, numbered in the order the JSON is written.
func TestJSONAttachmentsInStructs(t *testing.T) {
	t.Parallel()
	v := outer{
		A:        []byte{0},
		B:        &inner{C: []byte{1}},
		M:        map[string][]byte{"k2": {3}, "k1": {2}},
		L:        []inner{{C: []byte{4}}},
		I:        []byte{5},
		E:        []byte{},
		Z:        []byte{},
		Skip:     []byte{9},
		Blob:     blob{7},
		Embedded: Embedded{X: []byte{8}},
		hidden:   []byte{9},
	}
	before := v.M["k1"]
	frames, err := parser.JSON().Encode(&parser.Packet{Type: parser.Event, Args: []any{"s", v}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		`text:59-["s",{"a":{"_placeholder":true,"num":0},"b":{"c":{"_placeholder":true,"num":1}},` +
			`"m":{"k1":{"_placeholder":true,"num":2},"k2":{"_placeholder":true,"num":3}},"l":[{"c":{"_placeholder":true,"num":4}}],` +
			`"i":{"_placeholder":true,"num":5},"n":null,"z":{"_placeholder":true,"num":6},"blob":{"_placeholder":true,"num":7},` +
			`"x":{"_placeholder":true,"num":8}}]`,
		"bin:00", "bin:01", "bin:02", "bin:03", "bin:04", "bin:05", "bin:", "bin:07", "bin:08",
	}, wire(frames))
	assert.Equal(t, []byte{0}, v.A, "the caller's value is left alone")
	assert.Equal(t, []byte{2}, v.M["k1"])
	assert.Same(t, &before[0], &v.M["k1"][0])

	// Attachments are copies.
	v.A[0] = 42
	assert.Equal(t, []byte{0}, frames[1].Data)

	// The struct decodes back, []byte fields included.
	ms, err := decodeFrames(parser.JSON(), toFrames(frames))
	require.NoError(t, err)
	var back outer
	require.NoError(t, ms[0].Args[0].Decode(&back))
	assert.Equal(t, []byte{0}, back.A)
	assert.Equal(t, []byte{1}, back.B.C)
	assert.Equal(t, map[string][]byte{"k1": {2}, "k2": {3}}, back.M)
	assert.Equal(t, blob{7}, back.Blob)
	assert.Equal(t, []byte{8}, back.X)
	assert.Equal(t, []byte{5}, back.I, "an interface field receives the bytes")
}

func toFrames(fs []parser.Frame) []frame {
	out := make([]frame, len(fs))
	for i, f := range fs {
		out[i] = frame{data: f.Data, binary: f.Binary}
	}
	return out
}

func TestJSONAttachmentsNotFound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"unexported embedded struct stays base64", struct{ hiddenEmbedded }{hiddenEmbedded{Y: []byte{1}}}, `{"y":"AQ=="}`},
		{"types with MarshalJSON are opaque", selfMarshalled{B: []byte{1}}, `{"custom":true}`},
		{"arrays of bytes are numbers", [2]byte{1, 2}, `[1,2]`},
		{"nil pointer", (*inner)(nil), `null`},
		{"struct without binary", struct {
			A int `json:"a"`
		}{1}, `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frames, err := parser.JSON().Encode(&parser.Packet{Type: parser.Event, Args: []any{"x", tt.value}})
			require.NoError(t, err)
			assert.Equal(t, []string{`text:2["x",` + tt.want + `]`}, wire(frames))
		})
	}
}

func TestJSONAttachmentsCycle(t *testing.T) {
	t.Parallel()
	n := &node{B: []byte{1}}
	n.Next = n
	_, err := parser.JSON().Encode(&parser.Packet{Type: parser.Event, Args: []any{"x", n}})
	assert.ErrorIs(t, err, parser.ErrInvalidPacket)
}

// Many values of one struct type: the per-codec type cache gives the same
// answer each time, including from several goroutines.
func TestJSONAttachmentsConcurrent(t *testing.T) {
	t.Parallel()
	c := parser.JSON()
	done := make(chan []parser.Frame)
	for i := range 8 {
		go func() {
			frames, err := c.Encode(&parser.Packet{Type: parser.Event, Args: []any{"x", inner{C: []byte{byte(i)}}}})
			assert.NoError(t, err)
			done <- frames
		}()
	}
	seen := map[byte]bool{}
	for range 8 {
		frames := <-done
		require.Len(t, frames, 2)
		assert.Equal(t, `51-["x",{"c":{"_placeholder":true,"num":0}}]`, string(frames[0].Data))
		seen[frames[1].Data[0]] = true
	}
	assert.Len(t, seen, 8)
}

func TestDecoderFailsForGood(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		bad  frame
		good frame
	}{
		"msgpack": {bad: binSpec(`82 'type' 09 'nsp' '/'`), good: binSpec(`82 'type' 01 'nsp' '/'`)},
		"json":    {bad: text(`2[]`), good: text(`1`)},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			d := codecs[name].NewDecoder()
			m, err := d.Decode(tt.good.data, tt.good.binary)
			require.NoError(t, err)
			require.NotNil(t, m)
			_, first := d.Decode(tt.bad.data, tt.bad.binary)
			require.ErrorIs(t, first, parser.ErrInvalidPacket)
			m, err = d.Decode(tt.good.data, tt.good.binary)
			assert.Nil(t, m)
			assert.ErrorIs(t, err, parser.ErrInvalidPacket)
			assert.ErrorIs(t, err, first)
		})
	}
}

// A decoder copies what it keeps: the caller may reuse its buffers. A
// short packet of few arguments and a long one of more are kept in
// different ways by the JSON decoder.
func TestDecoderCopiesInput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("long", 30)
	for name, c := range codecs {
		for _, kept := range []string{"kept", long} {
			t.Run(name+"/"+kept[:4], func(t *testing.T) {
				args := []any{"x", kept, []byte{1, 2}}
				if kept == long {
					args = append(args, 3)
				}
				frames, err := c.Encode(&parser.Packet{Type: parser.Event, Args: args})
				require.NoError(t, err)
				d := c.NewDecoder()
				var m *parser.Message
				for _, f := range frames {
					buf := bytes.Clone(f.Data)
					m, err = d.Decode(buf, f.Binary)
					require.NoError(t, err)
					for i := range buf {
						buf[i] = 0
					}
				}
				require.NotNil(t, m)
				var s string
				var b []byte
				require.NoError(t, m.Args[0].Decode(&s))
				require.NoError(t, m.Args[1].Decode(&b))
				assert.Equal(t, kept, s)
				assert.Equal(t, []byte{1, 2}, b)
			})
		}
	}
}
