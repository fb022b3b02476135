package session

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/polling"
	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/websocket"
)

func TestRelayMessageRoundTrip(t *testing.T) {
	for _, m := range []relayMsg{
		{Kind: kindAlive, From: "AAAA", Seq: 1},
		{Kind: kindPoll, From: "a-_Z", Seq: 1 << 40, ID: 7, SID: "a-_Zabcdefghijklmnop"},
		{Kind: kindPollAnswer, From: "AAAA", Seq: 2, ID: 7, Pkts: []transport.Packet{
			transport.TextPacket("héllo"), transport.BinaryPacket([]byte{0, 0x1e, 0xff}), {Type: transport.Ping, Data: []byte{}},
			{Type: transport.Message, Data: []byte("as is"), NoCompress: true},
			{Type: transport.Close, Data: []byte{}},
		}},
		{Kind: kindPostAnswer, From: "AAAA", Seq: 3, ID: 8, Status: 413, Code: transport.CodeBadRequest},
		{Kind: kindPost, From: "AAAA", Seq: 4, ID: 9, SID: "x", Body: []byte("4a\x1e4b"), Err: errOther, ErrText: "boom"},
		{Kind: kindDown, From: "AAAA", Seq: 5, ID: 10, Pkts: []transport.Packet{transport.TextPacket("")}, Last: true, Ack: 99},
		{Kind: kindUpEnd, From: "AAAA", Seq: 6, ID: 10, Err: errDecode, ErrText: "bad", ErrAt: 12},
	} {
		got, err := decodeMsg(encodeMsg(&m))
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
}

func TestRelayMessageMalformed(t *testing.T) {
	valid := encodeMsg(&relayMsg{Kind: kindDown, From: "AAAA", Seq: 1, ID: 2, Pkts: []transport.Packet{transport.TextPacket("x")}})
	for name, b := range map[string][]byte{
		"empty":         {},
		"not an array":  {0xc0},
		"short array":   {0x92, 0x01, 0x02},
		"truncated":     valid[:len(valid)-3],
		"trailing byte": append(append([]byte{}, valid...), 0),
		"kind zero":     encodeMsg(&relayMsg{Kind: 0, From: "AAAA"}),
		"unknown kind":  encodeMsg(&relayMsg{Kind: maxKind, From: "AAAA"}),
		"bad type": encodeMsg(&relayMsg{Kind: kindDown, From: "AAAA",
			Pkts: []transport.Packet{{Type: transport.Noop + 1}}}),
		"binary ping": encodeMsg(&relayMsg{Kind: kindDown, From: "AAAA",
			Pkts: []transport.Packet{{Type: transport.Ping, Binary: true}}}),
		"error kind": encodeMsg(&relayMsg{Kind: kindUpEnd, From: "AAAA", Err: maxErrKind}),
	} {
		_, err := decodeMsg(b)
		require.ErrorIs(t, err, errMalformedMsg, name)
	}
}

func TestRelayErrorsKeepTheirKind(t *testing.T) {
	for _, tc := range []struct {
		err      error
		sentinel error
	}{
		{nil, nil},
		{transport.ErrPeerClosed, transport.ErrPeerClosed},
		{fmt.Errorf("utf-8: %w", transport.ErrInvalidPacket), transport.ErrInvalidPacket},
		{&transport.DecodeError{Offset: 3, Reason: "why"}, transport.ErrInvalidPacket},
		{ErrInvalidHeartbeat, transport.ErrUnexpectedPacket},
		{websocket.ErrMessageTooLarge, websocket.ErrMessageTooLarge},
		{polling.ErrPayloadTooLarge, polling.ErrPayloadTooLarge},
		{polling.ErrBinaryBody, polling.ErrBinaryBody},
		{errors.New("connection reset"), errRelayed},
	} {
		m := &relayMsg{Kind: kindUpEnd, From: "AAAA"}
		m.setErr(tc.err)
		got, err := decodeMsg(encodeMsg(m))
		require.NoError(t, err)
		rebuilt := got.err()
		if tc.err == nil {
			require.NoError(t, rebuilt)
			continue
		}
		require.ErrorIs(t, rebuilt, tc.sentinel, "%v", tc.err)
		assert.Equal(t, tc.err.Error(), rebuilt.Error())
		var de *transport.DecodeError
		if errors.As(tc.err, &de) {
			var got *transport.DecodeError
			require.ErrorAs(t, rebuilt, &got)
			assert.Equal(t, de, got)
		}
	}
}

func FuzzDecodeRelayMessage(f *testing.F) {
	f.Add(encodeMsg(&relayMsg{Kind: kindPoll, From: "AAAA", Seq: 1, ID: 1, SID: "AAAAxxxxxxxxxxxxxxxx"}))
	f.Add(encodeMsg(&relayMsg{Kind: kindDown, From: "AAAA", Seq: 2, ID: 1,
		Pkts: []transport.Packet{transport.TextPacket("a"), transport.BinaryPacket([]byte{1})}, Last: true}))
	f.Add(encodeMsg(&relayMsg{Kind: kindUpEnd, From: "AAAA", Err: errDecode, ErrText: "x", ErrAt: 4}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMsg(b)
		if err != nil {
			require.ErrorIs(t, err, errMalformedMsg)
			return
		}
		// What decodes encodes back to a message that decodes the same.
		again, err := decodeMsg(encodeMsg(&m))
		require.NoError(t, err)
		require.Equal(t, m, again)
	})
}
