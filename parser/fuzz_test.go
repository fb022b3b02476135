package parser_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ferryio/ferry/parser"
	"github.com/stretchr/testify/require"
)

// The fuzz targets check that decoding never panics, that every error wraps
// ErrInvalidPacket, that every argument of an accepted packet decodes, and
// that an accepted packet, encoded again from its Raw values, decodes to the
// same thing.
//
// Seed corpora live in testdata/fuzz/<FuzzName>/.

func FuzzDecodeMsgpack(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, parser.Msgpack(), []frame{{data: data, binary: true}})
	})
}

// FuzzDecodeJSON splits its input on 0x1e into messages: a message starting
// with 'b' is binary (the rest of it), any other is text.
func FuzzDecodeJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var frames []frame
		for _, part := range bytes.Split(data, []byte{0x1e}) {
			if len(part) > 0 && part[0] == 'b' {
				frames = append(frames, frame{data: part[1:], binary: true})
			} else {
				frames = append(frames, frame{data: part})
			}
		}
		checkDecode(t, parser.JSON(), frames)
	})
}

type fuzzTarget struct {
	Name  string  `json:"name"`
	Data  []byte  `json:"data"`
	Count int     `json:"count"`
	Ratio float64 `json:"ratio"`
	Any   any     `json:"any"`
}

func checkDecode(t *testing.T, c parser.Codec, frames []frame) {
	d := c.NewDecoder()
	for _, f := range frames {
		m, err := d.Decode(f.data, f.binary)
		if err != nil {
			require.ErrorIs(t, err, parser.ErrInvalidPacket)
			return
		}
		if m == nil {
			continue
		}
		want := tagMessages(t, []*parser.Message{m}) // every Raw decodes into *any
		for _, a := range append(append([]parser.Raw{}, m.Args...), m.Payload) {
			if a == nil {
				continue
			}
			var s fuzzTarget
			var b []byte
			_ = a.Decode(&s) // may fail on a shape mismatch, must not panic
			_ = a.Decode(&b)
		}
		p, ok := packetOf(m)
		if !ok {
			continue
		}
		out, err := c.Encode(p)
		require.NoError(t, err, "re-encoding %s", want)
		again, err := decodeFrames(c, toFrames(out))
		require.NoError(t, err, "decoding %v", wire(out))
		require.Len(t, again, 1)
		require.Equal(t, want, tagMessages(t, again))
	}
}

// packetOf rebuilds the packet of a decoded message, or reports that the
// message is one Encode refuses although a decoder accepts it.
func packetOf(m *parser.Message) (*parser.Packet, bool) {
	if !strings.HasPrefix(m.Namespace, "/") || strings.Contains(m.Namespace, ",") {
		return nil, false
	}
	p := &parser.Packet{Type: m.Type, Namespace: m.Namespace, ID: m.ID, HasID: m.HasID, Payload: m.Payload}
	switch m.Type {
	case parser.Event:
		if parser.IsReserved(m.Event) {
			return nil, false
		}
		p.Args = []any{m.Event}
	case parser.Ack:
		if !m.HasID {
			return nil, false
		}
	default:
		if m.HasID {
			return nil, false
		}
	}
	for _, a := range m.Args {
		p.Args = append(p.Args, a)
	}
	return p, true
}
