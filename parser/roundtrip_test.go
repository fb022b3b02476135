package parser_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryio/ferry/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gen makes random packets together with the values their arguments must
// decode to.
type gen struct {
	r        *rand.Rand
	binaries int // []byte values generated so far in the current packet
	maxBin   int
}

var runePool = []rune("aZ09 _-/,\"\\\n\t\x00\x1f\u007f\u00e9\u20ac\u2028\U0001D11E{}[]:")

func (g *gen) string() string {
	var sb strings.Builder
	for range g.r.IntN(12) {
		sb.WriteRune(runePool[g.r.IntN(len(runePool))])
	}
	return sb.String()
}

// value returns a random value and what it decodes to (into *any).
func (g *gen) value(depth int) (any, any) {
	k := g.r.IntN(12)
	if depth > 2 && k >= 9 {
		k = g.r.IntN(9)
	}
	switch k {
	case 0:
		return nil, nil
	case 1:
		b := g.r.IntN(2) == 0
		return b, b
	case 2:
		v := g.r.Int64() >> g.r.IntN(64)
		if g.r.IntN(2) == 0 {
			v = -v
		}
		return v, v
	case 3:
		v := g.r.Uint64() | 1<<63
		return v, v
	case 4:
		f := g.r.NormFloat64() * math.Pow(10, float64(g.r.IntN(30)-15))
		if f == math.Trunc(f) {
			return f, int64(f)
		}
		return f, f
	case 5:
		v := float64(g.r.IntN(1 << 20))
		return v, int64(v)
	case 6, 7:
		s := g.string()
		return s, s
	case 8:
		if g.binaries >= g.maxBin {
			return "no more binary", "no more binary"
		}
		g.binaries++
		b := make([]byte, g.r.IntN(40))
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		return b, b
	case 9, 10:
		n := g.r.IntN(5)
		v, want := make([]any, n), make([]any, n)
		for i := range n {
			v[i], want[i] = g.value(depth + 1)
		}
		return v, want
	}
	n := g.r.IntN(5)
	v, want := make(map[string]any, n), make(map[string]any, n)
	for range n {
		key := g.string()
		v[key], want[key] = g.value(depth + 1)
	}
	return v, want
}

func (g *gen) object() (map[string]any, map[string]any) {
	v, want := map[string]any{}, map[string]any{}
	for range g.r.IntN(4) {
		key := g.string()
		v[key], want[key] = g.value(1)
	}
	return v, want
}

// packet returns a random packet and the message it must decode to, with
// its arguments and payload in decoded form.
func (g *gen) packet(allowBinaryPayload bool) (*parser.Packet, *parser.Message, []any, any) {
	g.binaries = 0
	p := &parser.Packet{Type: parser.Type(g.r.IntN(5))}
	m := &parser.Message{Type: p.Type, Namespace: "/"}
	if g.r.IntN(2) == 0 {
		p.Namespace = "/" + strconv.Itoa(g.r.IntN(100))
		m.Namespace = p.Namespace
	}
	var args []any
	var payload any
	switch p.Type {
	case parser.Connect, parser.ConnectError:
		saved := g.maxBin
		if !allowBinaryPayload {
			g.maxBin = 0
		}
		switch {
		case p.Type == parser.ConnectError && g.r.IntN(3) == 0:
			s := g.string()
			p.Payload, payload = s, s
		case p.Type == parser.ConnectError || g.r.IntN(3) > 0:
			p.Payload, payload = g.object()
		}
		g.maxBin = saved
	case parser.Event, parser.Ack:
		if p.Type == parser.Event {
			name := "ev-" + g.string()
			if g.r.IntN(4) == 0 {
				n := g.r.IntN(1000)
				p.Args = append(p.Args, n)
				name = strconv.Itoa(n)
			} else {
				p.Args = append(p.Args, name)
			}
			m.Event = name
		}
		if p.Type == parser.Ack || g.r.IntN(2) == 0 {
			p.ID, p.HasID = []uint64{0, 1, uint64(g.r.IntN(1000)), g.r.Uint64()}[g.r.IntN(4)], true
			m.ID, m.HasID = p.ID, true
		}
		args = []any{}
		for range g.r.IntN(6) {
			v, want := g.value(1)
			p.Args = append(p.Args, v)
			args = append(args, want)
		}
	}
	return p, m, args, payload
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	for name, c := range codecs {
		t.Run(name, func(t *testing.T) {
			t.Logf("seed %d", seed)
			g := gen{r: rand.New(rand.NewPCG(seed, 7)), maxBin: 10}
			for i := range 1000 {
				p, want, args, payload := g.packet(name == "msgpack")
				frames, err := c.Encode(p)
				require.NoError(t, err, "packet %d: %+v", i, p)
				ms, err := decodeFrames(c, toFrames(frames))
				require.NoError(t, err, "packet %d: %v", i, wire(frames))
				require.Len(t, ms, 1)
				got := ms[0]
				assert.Equal(t, want.Type, got.Type)
				assert.Equal(t, want.Namespace, got.Namespace)
				assert.Equal(t, want.HasID, got.HasID)
				assert.Equal(t, want.ID, got.ID)
				assert.Equal(t, want.Event, got.Event)
				if args == nil {
					assert.Empty(t, got.Args)
				} else {
					gotArgs := []any{}
					for _, a := range got.Args {
						var v any
						require.NoError(t, a.Decode(&v))
						gotArgs = append(gotArgs, v)
					}
					require.Equal(t, args, gotArgs, "packet %d: %v", i, wire(frames))
				}
				if payload == nil {
					assert.Nil(t, got.Payload)
				} else {
					var v any
					require.NoError(t, got.Payload.Decode(&v))
					require.Equal(t, payload, v, "packet %d: %v", i, wire(frames))
				}
			}
		})
	}
}
