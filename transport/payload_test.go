package transport

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPayloadWireForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		wire string
		pkts []Packet
	}{
		{
			name: "echo round trip",
			wire: "4hello\x1ebAQIDBA==\x1e4€",
			pkts: []Packet{TextPacket("hello"), BinaryPacket([]byte{1, 2, 3, 4}), TextPacket("€")},
		},
		{
			name: "close after flush",
			wire: "6\x1e1",
			pkts: []Packet{{Type: Noop}, {Type: Close}},
		},
		{
			name: "single ping",
			wire: "2",
			pkts: []Packet{{Type: Ping}},
		},
		{
			name: "socket.io connect reply and event",
			wire: `40{"sid":"cKH1"}` + "\x1e" + `42["auth",{}]`,
			pkts: []Packet{TextPacket(`0{"sid":"cKH1"}`), TextPacket(`2["auth",{}]`)},
		},
		{
			name: "empty messages",
			wire: "4\x1eb\x1e4",
			pkts: []Packet{TextPacket(""), BinaryPacket(nil), TextPacket("")},
		},
		{
			name: "binary holding the separator byte",
			wire: "bHh4e\x1e3",
			pkts: []Packet{BinaryPacket([]byte{0x1e, 0x1e, 0x1e}), {Type: Pong}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			enc := EncodePayload(tt.pkts)
			assert.Equal(t, tt.wire, string(enc))
			assert.Equal(t, len(tt.wire), PayloadLen(tt.pkts))

			got, err := DecodePayload([]byte(tt.wire))
			require.NoError(t, err)
			require.Len(t, got, len(tt.pkts))
			for i := range got {
				assertPacketEqual(t, tt.pkts[i], got[i])
			}
		})
	}
}

func TestPayloadContentLength(t *testing.T) {
	t.Parallel()
	// protocol.md §1.4: Content-Length counts bytes: 21 = 6+1+9+1+4.
	pkts := []Packet{TextPacket("hello"), BinaryPacket([]byte{1, 2, 3, 4}), TextPacket("€")}
	assert.Equal(t, 21, PayloadLen(pkts))
	assert.Len(t, EncodePayload(pkts), 21)
}

func TestEncodePayloadEmpty(t *testing.T) {
	t.Parallel()
	assert.Equal(t, 0, PayloadLen(nil))
	assert.Empty(t, EncodePayload(nil))
	assert.Equal(t, "x", string(AppendPayload([]byte("x"), nil)))
}

func TestAppendPayloadKeepsPrefix(t *testing.T) {
	t.Parallel()
	got := AppendPayload([]byte("HTTP body: "), []Packet{TextPacket("a"), {Type: Noop}})
	assert.Equal(t, "HTTP body: 4a\x1e6", string(got))
}

func TestDecodePayloadMalformed(t *testing.T) {
	t.Parallel()
	a, b := TextPacket("a"), TextPacket("b")
	tests := []struct {
		name   string
		body   string
		before []Packet // packets returned ahead of the bad record
		offset int
		reason string
	}{
		{"empty body", "", nil, 0, "empty"},
		{"separator only", "\x1e", nil, 0, "empty"},
		{"leading separator", "\x1e4a", nil, 0, "empty"},
		{"trailing separator", "4a\x1e", []Packet{a}, 3, "empty"},
		{"empty record in the middle", "4a\x1e\x1e4b", []Packet{a}, 3, "empty"},
		{"unknown type first", "9a\x1e4b", nil, 0, "type"},
		{"unknown type after two", "4a\x1e4b\x1exyz", []Packet{a, b}, 6, "type"},
		{"bad base64", "4a\x1ebAQIDB\x1e4b", []Packet{a}, 3, "base64"},
		{"bad base64 last", "4a\x1e4b\x1eb!!!!", []Packet{a, b}, 6, "base64"},
		{"invalid UTF-8 text", "4a\x1e4\xff\xfe", []Packet{a}, 3, "UTF-8"},
		{"UTF-8 split by separator", "4\xe2\x82\x1e\xac", nil, 0, "UTF-8"},
		{"offset counts bytes not runes", "4€\x1e7", []Packet{TextPacket("€")}, 5, "type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodePayload([]byte(tt.body))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidPacket)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tt.offset, de.Offset)
			assert.Contains(t, de.Reason, tt.reason)
			assert.Contains(t, err.Error(), "at byte "+strconv.Itoa(tt.offset))
			require.Len(t, got, len(tt.before))
			for i := range got {
				assertPacketEqual(t, tt.before[i], got[i])
			}
		})
	}
}

func TestDecodePayloadTextAliasesBody(t *testing.T) {
	t.Parallel()
	body := []byte("4ab\x1e4cd")
	pkts, err := DecodePayload(body)
	require.NoError(t, err)
	require.Len(t, pkts, 2)
	body[5] = 'X'
	assert.Equal(t, "Xd", string(pkts[1].Data))

	// Data is capped at its record: appending to one packet's data must not
	// overwrite the separator or the next packet.
	grown := append(pkts[0].Data, "zzzz"...)
	assert.Equal(t, "abzzzz", string(grown))
	assert.Equal(t, "4ab\x1e4Xd", string(body))
	assert.Equal(t, "Xd", string(pkts[1].Data))
}

func TestPayloadRoundTripRandom(t *testing.T) {
	t.Parallel()
	r := newRand(t)
	for i := range 500 {
		pkts := make([]Packet, 1+r.IntN(12))
		for j := range pkts {
			pkts[j] = randomPacket(r, false)
		}
		enc := EncodePayload(pkts)
		require.Len(t, enc, PayloadLen(pkts), "payload %d", i)
		assert.Equal(t, len(pkts)-1, bytes.Count(enc, []byte{RecordSeparator}),
			"payload %d: one separator between records", i)

		got, err := DecodePayload(enc)
		require.NoError(t, err, "payload %d: %q", i, enc)
		require.Len(t, got, len(pkts), "payload %d", i)
		for j := range got {
			assertPacketEqual(t, pkts[j], got[j])
		}
	}
}
