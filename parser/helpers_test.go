package parser_test

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ferryio/ferry/parser"
	"github.com/stretchr/testify/require"
)

// mp builds bytes from a readable spec: hex byte pairs separated by spaces,
// and 'quoted' text, which becomes a msgpack fixstr (for text shorter than
// 32 bytes) or a str8.
func mp(spec string) []byte {
	var out []byte
	for i := 0; i < len(spec); {
		switch c := spec[i]; {
		case c == ' ':
			i++
		case c == '\'':
			j := strings.IndexByte(spec[i+1:], '\'')
			if j < 0 {
				panic("mp: unterminated string in " + spec)
			}
			s := spec[i+1 : i+1+j]
			if len(s) < 32 {
				out = append(out, 0xa0|byte(len(s)))
			} else {
				out = append(out, 0xd9, byte(len(s)))
			}
			out = append(out, s...)
			i += j + 2
		default:
			b, err := hex.DecodeString(spec[i : i+2])
			if err != nil {
				panic("mp: bad hex in " + spec)
			}
			out = append(out, b...)
			i += 2
		}
	}
	return out
}

// frame is one Engine.IO message in a test case.
type frame struct {
	data   []byte
	binary bool
}

func text(s string) frame      { return frame{data: []byte(s)} }
func bin(b ...byte) frame      { return frame{data: b, binary: true} }
func binSpec(s string) frame   { return frame{data: mp(s), binary: true} }
func textBytes(b []byte) frame { return frame{data: b} }

// decodeFrames feeds frames to a fresh decoder and returns the messages it
// completed, stopping at the first error.
func decodeFrames(c parser.Codec, frames []frame) ([]*parser.Message, error) {
	d := c.NewDecoder()
	var out []*parser.Message
	for _, f := range frames {
		m, err := d.Decode(f.data, f.binary)
		if err != nil {
			return out, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// tagMessages returns messages in the tagged JSON form that
// parser-vectors.mjs prints: {type, nsp, id?, data?}, binary as {"$bin":
// hex}, Dates as {"$date": ms}, non-finite numbers as {"$number": name}.
func tagMessages(t testing.TB, ms []*parser.Message) string {
	t.Helper()
	out := make([]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, tagMessage(t, m))
	}
	b, err := json.Marshal(out)
	require.NoError(t, err)
	return string(b)
}

func tagMessage(t testing.TB, m *parser.Message) map[string]any {
	t.Helper()
	out := map[string]any{"type": int(m.Type), "nsp": m.Namespace}
	if m.HasID {
		out["id"] = m.ID
	}
	decodeArgs := func(data []any) []any {
		for _, a := range m.Args {
			var v any
			require.NoError(t, a.Decode(&v))
			data = append(data, tagValue(v))
		}
		return data
	}
	switch m.Type {
	case parser.Event:
		out["data"] = decodeArgs([]any{m.Event})
	case parser.Ack:
		out["data"] = decodeArgs([]any{})
	default:
		if m.Payload != nil {
			var v any
			require.NoError(t, m.Payload.Decode(&v))
			out["data"] = tagValue(v)
		}
	}
	return out
}

func tagValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return map[string]any{"$bin": hex.EncodeToString(x)}
	case time.Time:
		return map[string]any{"$date": x.UnixMilli()}
	case float64:
		switch {
		case math.IsNaN(x):
			return map[string]any{"$number": "NaN"}
		case math.IsInf(x, 1):
			return map[string]any{"$number": "Infinity"}
		case math.IsInf(x, -1):
			return map[string]any{"$number": "-Infinity"}
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = tagValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = tagValue(e)
		}
		return out
	}
	return v
}

// wire renders frames for failure messages.
func wire(frames []parser.Frame) []string {
	out := make([]string, len(frames))
	for i, f := range frames {
		if f.Binary {
			out[i] = "bin:" + hex.EncodeToString(f.Data)
		} else {
			out[i] = "text:" + string(f.Data)
		}
	}
	return out
}
