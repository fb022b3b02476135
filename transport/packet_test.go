package transport

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodePacketWireForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		wire string
		want Packet
	}{
		{"4hello", Packet{Type: Message, Data: []byte("hello")}},
		{"4", Packet{Type: Message, Data: []byte{}}},
		{"4€", Packet{Type: Message, Data: []byte("€")}},
		{"2", Packet{Type: Ping, Data: []byte{}}},
		{"2probe", Packet{Type: Ping, Data: []byte("probe")}},
		{"3", Packet{Type: Pong, Data: []byte{}}},
		{"3probe", Packet{Type: Pong, Data: []byte("probe")}},
		{"1", Packet{Type: Close, Data: []byte{}}},
		{"5", Packet{Type: Upgrade, Data: []byte{}}},
		{"6", Packet{Type: Noop, Data: []byte{}}},
		{
			`0{"sid":"xBK6ByHVUb9dfeCZAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
			Packet{Type: Open, Data: []byte(`{"sid":"xBK6ByHVUb9dfeCZAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)},
		},
		{"bAQIDBA==", Packet{Type: Message, Data: []byte{1, 2, 3, 4}, Binary: true}},
		{"b", Packet{Type: Message, Data: []byte{}, Binary: true}},
		{"b/w==", Packet{Type: Message, Data: []byte{0xff}, Binary: true}},
		// A text message whose data looks like a binary record stays text.
		{"4bAQIDBA==", Packet{Type: Message, Data: []byte("bAQIDBA==")}},
		// Text data may hold the record separator; only payloads split on it.
		{"4a\x1eb", Packet{Type: Message, Data: []byte("a\x1eb")}},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.wire), func(t *testing.T) {
			t.Parallel()
			got, err := DecodePacket([]byte(tt.wire))
			require.NoError(t, err)
			assertPacketEqual(t, tt.want, got)
		})
	}
}

func TestEncodePacketWireForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    Packet
		wire string
	}{
		{TextPacket("hello"), "4hello"},
		{TextPacket(""), "4"},
		{TextPacket("€"), "4€"},
		{Packet{Type: Ping}, "2"},
		{Packet{Type: Ping, Data: []byte("probe")}, "2probe"},
		{Packet{Type: Pong, Data: []byte("probe")}, "3probe"},
		{Packet{Type: Close}, "1"},
		{Packet{Type: Upgrade}, "5"},
		{Packet{Type: Noop}, "6"},
		{Packet{Type: Open, Data: []byte(`{"sid":"a"}`)}, `0{"sid":"a"}`},
		{BinaryPacket([]byte{1, 2, 3, 4}), "bAQIDBA=="},
		{BinaryPacket(nil), "b"},
		{BinaryPacket([]byte{0xff}), "b/w=="},
		{BinaryPacket([]byte{0xfb, 0xff}), "b+/8="},
	}
	for _, tt := range tests {
		t.Run(strconv.Quote(tt.wire), func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.wire, string(EncodePacket(tt.p)))
			assert.Equal(t, len(tt.wire), EncodedLen(tt.p))
			prefix := []byte("prefix")
			got := AppendPacket(prefix, tt.p)
			assert.Equal(t, "prefix"+tt.wire, string(got))
		})
	}
}

func TestDecodePacketMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		wire   string
		reason string // a word the reason must contain
	}{
		{"empty", "", "empty"},
		{"type below 0", "/hello", "type"},
		{"type above 6", "7hello", "type"},
		{"type letter", "xhello", "type"},
		{"uppercase B", "BAQIDBA==", "type"},
		{"record separator", "\x1e", "type"},
		{"base64 missing padding", "bAQIDBA", "base64"},
		{"base64 bad character", "bAQ!DBA==", "base64"},
		{"base64 url alphabet", "b-_8=", "base64"},
		{"base64 excess padding", "bAQIDBA===", "base64"},
		{"text invalid UTF-8", "4\xff", "UTF-8"},
		{"text truncated UTF-8", "4\xe2\x82", "UTF-8"},
		{"text surrogate half", "4\xed\xa0\x80", "UTF-8"},
		{"ping invalid UTF-8", "2\xc0\xaf", "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := DecodePacket([]byte(tt.wire))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidPacket)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, 0, de.Offset)
			assert.Contains(t, de.Reason, tt.reason)
			assert.Contains(t, err.Error(), "at byte 0")
			assertPacketEqual(t, Packet{}, p)
		})
	}
}

func TestDecodeErrorUnwrap(t *testing.T) {
	t.Parallel()
	err := error(&DecodeError{Offset: 7, Reason: "empty packet"})
	assert.ErrorIs(t, err, ErrInvalidPacket)
	assert.NotErrorIs(t, err, ErrTransportClosed)
	assert.Equal(t, "transport: invalid packet at byte 7: empty packet", err.Error())
	wrapped := errors.Join(errors.New("post"), err)
	var de *DecodeError
	require.ErrorAs(t, wrapped, &de)
	assert.Equal(t, 7, de.Offset)
}

func TestPacketTypeString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		t    PacketType
		want string
	}{
		{Open, "open"},
		{Close, "close"},
		{Ping, "ping"},
		{Pong, "pong"},
		{Message, "message"},
		{Upgrade, "upgrade"},
		{Noop, "noop"},
		{7, "PacketType(7)"},
		{255, "PacketType(255)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.t.String(), "PacketType(%d)", byte(tt.t))
	}
	// The wire digit of each type is its position.
	for c := byte('0'); c <= '6'; c++ {
		p, err := DecodePacket([]byte{c})
		require.NoError(t, err)
		assert.Equal(t, PacketType(c-'0'), p.Type)
	}
}

func TestPacketString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "message(5 bytes)", TextPacket("hello").String())
	assert.Equal(t, "message(binary, 4 bytes)", BinaryPacket([]byte{1, 2, 3, 4}).String())
	assert.Equal(t, "ping(0 bytes)", Packet{Type: Ping}.String())
}

func TestPacketConstructors(t *testing.T) {
	t.Parallel()
	tp := TextPacket("hi")
	assert.Equal(t, Message, tp.Type)
	assert.False(t, tp.Binary)
	assert.Equal(t, []byte("hi"), tp.Data)

	b := []byte{9, 8}
	bp := BinaryPacket(b)
	assert.Equal(t, Message, bp.Type)
	assert.True(t, bp.Binary)
	b[0] = 1
	assert.Equal(t, byte(1), bp.Data[0], "BinaryPacket keeps the caller's slice")
}

func TestDecodeFrame(t *testing.T) {
	t.Parallel()
	raw := []byte{0x00, 0xff, 0x1e, 'b'}
	p, err := DecodeFrame(raw, true)
	require.NoError(t, err)
	assertPacketEqual(t, BinaryPacket([]byte{0x00, 0xff, 0x1e, 'b'}), p)
	raw[0] = 0x42
	assert.Equal(t, byte(0x42), p.Data[0], "binary frame data aliases the frame")

	// An empty binary frame is an empty binary message.
	p, err = DecodeFrame([]byte{}, true)
	require.NoError(t, err)
	assertPacketEqual(t, BinaryPacket([]byte{}), p)

	// Text frames are parsed like any packet, including base64 binary (b64=1).
	p, err = DecodeFrame([]byte("bAQIDBA=="), false)
	require.NoError(t, err)
	assertPacketEqual(t, BinaryPacket([]byte{1, 2, 3, 4}), p)

	p, err = DecodeFrame([]byte("2probe"), false)
	require.NoError(t, err)
	assertPacketEqual(t, Packet{Type: Ping, Data: []byte("probe")}, p)

	_, err = DecodeFrame([]byte("9"), false)
	assert.ErrorIs(t, err, ErrInvalidPacket)
	_, err = DecodeFrame(nil, false)
	assert.ErrorIs(t, err, ErrInvalidPacket)
}

func TestDecodePacketTextAliasesInput(t *testing.T) {
	t.Parallel()
	in := []byte("4hello")
	p, err := DecodePacket(in)
	require.NoError(t, err)
	in[1] = 'j'
	assert.Equal(t, "jello", string(p.Data))

	// Base64 binary data is freshly allocated.
	in = []byte("bAQIDBA==")
	p, err = DecodePacket(in)
	require.NoError(t, err)
	copy(in, "bBQIDBA==")
	assert.Equal(t, []byte{1, 2, 3, 4}, p.Data)
}

func TestPacketRoundTripRandom(t *testing.T) {
	t.Parallel()
	r := newRand(t)
	for i := range 2000 {
		p := randomPacket(r, true)
		enc := EncodePacket(p)
		require.Len(t, enc, EncodedLen(p), "packet %d: %v", i, p)
		got, err := DecodePacket(enc)
		require.NoError(t, err, "packet %d: %q", i, enc)
		assertPacketEqual(t, p, got)
	}
}

// newRand returns a generator seeded for this test run. The seed is logged if
// the test fails; set TRANSPORT_TEST_SEED to replay it.
func newRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("TRANSPORT_TEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "TRANSPORT_TEST_SEED")
		seed = v
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("random seed: TRANSPORT_TEST_SEED=%d", seed)
		}
	})
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// randomPacket returns a valid packet: a binary message, or a text packet of
// any type with valid UTF-8 data. If separators is false the text data never
// holds the record separator, so that the packet fits in a payload.
func randomPacket(r *rand.Rand, separators bool) Packet {
	if r.IntN(3) == 0 {
		data := make([]byte, randomLen(r))
		for i := range data {
			data[i] = byte(r.UintN(256))
		}
		return BinaryPacket(data)
	}
	return Packet{Type: PacketType(r.IntN(int(Noop) + 1)), Data: []byte(randomText(r, separators))}
}

// randomText returns valid UTF-8 mixing ASCII, control bytes and multi-byte
// runes.
func randomText(r *rand.Rand, separators bool) string {
	var sb strings.Builder
	n := randomLen(r)
	for range n {
		var c rune
		switch r.IntN(5) {
		case 0:
			c = rune(r.IntN(0x20)) // control, including 0x1E
		case 1:
			c = rune(0x80 + r.IntN(0x780)) // two bytes
		case 2:
			c = rune(0x800 + r.IntN(0xd800-0x800)) // three bytes, below surrogates
		case 3:
			c = rune(0x10000 + r.IntN(0x10ffff-0x10000)) // four bytes
		default:
			c = rune(0x20 + r.IntN(0x5f))
		}
		if c == RecordSeparator && !separators {
			c = 'x'
		}
		sb.WriteRune(c)
	}
	return sb.String()
}

// randomLen favours short lengths, including zero, with an occasional long one.
func randomLen(r *rand.Rand) int {
	switch r.IntN(10) {
	case 0:
		return 0
	case 1:
		return 200 + r.IntN(2000)
	default:
		return r.IntN(16)
	}
}

// assertPacketEqual compares packets treating nil and empty Data alike.
func assertPacketEqual(t *testing.T, want, got Packet) {
	t.Helper()
	if want.Type != got.Type || want.Binary != got.Binary || !bytes.Equal(want.Data, got.Data) {
		assert.Fail(t, "packets differ", "want %v %q\n got %v %q", want, want.Data, got, got.Data)
	}
	if !got.Binary {
		assert.True(t, utf8.Valid(got.Data), "text packet data is not UTF-8")
	}
}
