package parser_test

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/ferryio/ferry/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// limitPacket builds the inbound packets of the limit tests, in one codec.
type limitPacket struct {
	codec  parser.Codec
	binary bool
}

var limitCodecs = []limitPacket{{parser.Msgpack(), true}, {parser.JSON(), false}}

// event returns an EVENT named "e" whose data array holds the name and
// then items, each an encoded value.
func (p limitPacket) event(items ...[]byte) []byte {
	if p.binary {
		b := mp(`83 'type' 02 'data' dd`)
		b = binary.BigEndian.AppendUint32(b, uint32(1+len(items)))
		b = append(b, mp(`'e'`)...)
		for _, it := range items {
			b = append(b, it...)
		}
		return append(b, mp(`'nsp' '/'`)...)
	}
	b := []byte(`2["e"`)
	for _, it := range items {
		b = append(append(b, ','), it...)
	}
	return append(b, ']')
}

// ack returns an ACK with id 0 whose arguments are items.
func (p limitPacket) ack(items ...[]byte) []byte {
	if p.binary {
		return append(append(mp(`84 'id' 00 'type' 03 'data'`), p.list(items...)...), mp(`'nsp' '/'`)...)
	}
	return append([]byte(`30`), p.list(items...)...)
}

// connect returns a CONNECT whose payload has n members.
func (p limitPacket) connect(n int) []byte {
	if p.binary {
		b := mp(`83 'type' 00 'data' df`)
		b = binary.BigEndian.AppendUint32(b, uint32(n))
		for k := range n {
			b = append(b, 0xcd, byte(k>>8), byte(k), 0xc0)
		}
		return append(b, mp(`'nsp' '/'`)...)
	}
	var b strings.Builder
	b.WriteString(`0{`)
	for k := range n {
		if k > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(k) + `":null`)
	}
	return []byte(b.String() + `}`)
}

// list returns items as an array.
func (p limitPacket) list(items ...[]byte) []byte {
	if p.binary {
		b := binary.BigEndian.AppendUint32([]byte{0xdd}, uint32(len(items)))
		for _, it := range items {
			b = append(b, it...)
		}
		return b
	}
	return append(append([]byte{'['}, bytes.Join(items, []byte{','})...), ']')
}

// nils returns n null values.
func (p limitPacket) nils(n int) [][]byte {
	v := []byte("null")
	if p.binary {
		v = []byte{0xc0}
	}
	out := make([][]byte, n)
	for k := range out {
		out[k] = v
	}
	return out
}

// nested returns a value of depth arrays, one inside the other, around a
// zero.
func (p limitPacket) nested(depth int) []byte {
	if p.binary {
		return append(bytes.Repeat([]byte{0x91}, depth), 0)
	}
	return []byte(strings.Repeat("[", depth) + "0" + strings.Repeat("]", depth))
}

func (p limitPacket) decode(l *parser.Limits, data []byte) (*parser.Message, error) {
	d := p.codec.NewDecoder()
	if l != nil {
		d = p.codec.NewLimitedDecoder(*l)
	}
	return d.Decode(data, p.binary)
}

// The inputs: a 1 MB msgpack EVENT of 990,000 nil arguments, and
// a JSON one of 495,000 zeros.
func attackPackets() []struct {
	codec  parser.Codec
	data   []byte
	binary bool
} {
	mpData := limitCodecs[0].event(limitCodecs[0].nils(990_000)...)
	jsonData := []byte(`2["e"` + strings.Repeat(",0", 495_000) + `]`)
	return []struct {
		codec  parser.Codec
		data   []byte
		binary bool
	}{{parser.Msgpack(), mpData, true}, {parser.JSON(), jsonData, false}}
}

// A decoder with the default limits refuses the packets as soon as
// it reads their length, allocating next to nothing. Not parallel: it
// counts the bytes the process allocates.
func TestDecodeLimitsRefuseAttack(t *testing.T) {
	for _, a := range attackPackets() {
		t.Run(a.codec.Name(), func(t *testing.T) {
			require.Less(t, len(a.data), 1_000_000)
			_, err := a.codec.NewDecoder().Decode(a.data, a.binary)
			require.ErrorIs(t, err, parser.ErrInvalidPacket)
			var pe *parser.PacketError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "limit exceeded: more than 10000 arguments (Limits.MaxArgs)", pe.Reason)

			const runs = 20
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			allocs := testing.AllocsPerRun(runs, func() {
				if _, err := a.codec.NewDecoder().Decode(a.data, a.binary); err == nil {
					t.Fatal("accepted")
				}
			})
			runtime.ReadMemStats(&after)
			assert.LessOrEqual(t, allocs, 8.0)
			assert.Less(t, (after.TotalAlloc-before.TotalAlloc)/(runs+1), uint64(4096), "bytes allocated per refusal")
		})
	}
}

// A decoded Message costs 32 bytes per argument besides a copy of the
// packet's data: a Raw of 16 bytes and its place in Message.Args. Not
// parallel: it counts the bytes the process allocates.
func TestDecodedArgumentCost(t *testing.T) {
	const n = 10_000 // the default MaxArgs
	for _, p := range limitCodecs {
		t.Run(p.codec.Name(), func(t *testing.T) {
			data := p.event(p.nils(n)...)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			m, err := p.codec.NewDecoder().Decode(data, p.binary)
			runtime.ReadMemStats(&after)
			require.NoError(t, err)
			require.Len(t, m.Args, n)
			perArg := float64(int64(after.TotalAlloc-before.TotalAlloc)-int64(len(data))) / n
			t.Logf("%d-byte packet of %d arguments: %.1f bytes per argument besides the packet", len(data), n, perArg)
			assert.LessOrEqual(t, perArg, 34.0, "32, and the copy of the packet rounded up to its size class")
			runtime.KeepAlive(m)
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	t.Parallel()
	small := &parser.Limits{MaxArgs: 3, MaxElements: 8, MaxDepth: 3}
	const (
		argsReason     = "limit exceeded: more than 3 arguments (Limits.MaxArgs)"
		elementsReason = "limit exceeded: more than 8 array elements and map entries (Limits.MaxElements)"
		depthReason    = "limit exceeded: arrays and maps nested more than 3 deep (Limits.MaxDepth)"
	)
	for _, p := range limitCodecs {
		zero := []byte("0")
		if p.binary {
			zero = []byte{0}
		}
		tests := []struct {
			name   string
			limits *parser.Limits
			data   []byte
			reason string // "" when accepted
		}{
			{"EVENT with MaxArgs arguments", small, p.event(p.nils(3)...), ""},
			{"EVENT with one more", small, p.event(p.nils(4)...), argsReason},
			{"ACK with MaxArgs arguments", small, p.ack(p.nils(3)...), ""},
			{"ACK with one more", small, p.ack(p.nils(4)...), argsReason},
			{"CONNECT payload members are not arguments", small, p.connect(7), ""},
			{"CONNECT payload beyond MaxElements", small, p.connect(9), elementsReason},
			{"MaxElements, counted at every depth", small, p.event(p.list(p.nils(2)...), p.list(p.list(zero, zero))), ""},
			{"one element more", small, p.event(p.list(p.nils(3)...), p.list(p.list(zero, zero))), elementsReason},
			{"data nested MaxDepth deep", small, p.event(p.nested(2)), ""},
			{"one level more", small, p.event(p.nested(3)), depthReason},
			{"depth is counted in each argument", small, p.event(p.nested(2), p.nested(2)), ""},
			{"default MaxArgs", nil, p.event(p.nils(10_000)...), ""},
			{"beyond the default MaxArgs", nil, p.event(p.nils(10_001)...), "limit exceeded: more than 10000 arguments (Limits.MaxArgs)"},
			{"zero Limits are the defaults", &parser.Limits{}, p.ack(p.nils(10_001)...), "limit exceeded: more than 10000 arguments (Limits.MaxArgs)"},
			{"default MaxElements", &parser.Limits{MaxArgs: 1 << 20}, p.event(p.nils(999_999)...), ""},
			{"beyond the default MaxElements", nil, p.event(p.list(p.nils(999_999)...)),
				"limit exceeded: more than 1000000 array elements and map entries (Limits.MaxElements)"},
			{"default MaxDepth", nil, p.event(p.nested(999)), ""},
			{"beyond the default MaxDepth", nil, p.event(p.nested(1000)), "limit exceeded: arrays and maps nested more than 1000 deep (Limits.MaxDepth)"},
			{"MaxDepth is at most 10000", &parser.Limits{MaxDepth: 1 << 20}, p.event(p.nested(9999)), ""},
			{"beyond 10000", &parser.Limits{MaxDepth: 1 << 20}, p.event(p.nested(10000)),
				"limit exceeded: arrays and maps nested more than 10000 deep (Limits.MaxDepth)"},
		}
		for _, tt := range tests {
			t.Run(p.codec.Name()+"/"+tt.name, func(t *testing.T) {
				m, err := p.decode(tt.limits, tt.data)
				if tt.reason == "" {
					require.NoError(t, err)
					require.NotNil(t, m)
					return
				}
				require.ErrorIs(t, err, parser.ErrInvalidPacket)
				var pe *parser.PacketError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, tt.reason, pe.Reason)
			})
		}
	}
}
