package redisadapter

import (
	"encoding/hex"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
)

// TestDates checks that Dates are written as notepack.io 3 writes them
// (the output of notepack.io 3.0.1 for these Dates), and read back
// from both notepack.io 2 and 3.
func TestDates(t *testing.T) {
	cases := []struct {
		ms   int64
		want string
	}{
		{1700000000000, "d6ff6553f100"},
		{1700000000123, "d7ff1d5353006553f100"},
		{0, "d6ff00000000"},
		{-1, "c70cff3b8b87c0ffffffffffffffff"},
		{17179869184000, "c70cff000000000000000400000000"},
	}
	for _, c := range cases {
		got, err := encodeMsgpack(value{time.UnixMilli(c.ms)})
		require.NoError(t, err)
		require.Equal(t, c.want, hex.EncodeToString(got), "ms %d", c.ms)

		raw, err := mpNode(got).Raw()
		require.NoError(t, err)
		var back time.Time
		require.NoError(t, raw.Decode(&back))
		require.Equal(t, c.ms, back.UnixMilli(), "ms %d read back", c.ms)
	}

	// A notepack.io 2 Date (fixext 8 of type 0) and undefined, as 4.x
	// emitters write them, are read, and written again in the new forms.
	legacy, _ := hex.DecodeString("92d700000001" + "8bcfe56800" + "d40000")
	raw, err := mpNode(legacy).Raw()
	require.NoError(t, err)
	var v []any
	require.NoError(t, raw.Decode(&v))
	require.Equal(t, int64(1700000000000), v[0].(time.Time).UnixMilli())
	require.Nil(t, v[1])
	again, err := encodeMsgpack(value{raw})
	require.NoError(t, err)
	require.Equal(t, "92d6ff6553f100c0", hex.EncodeToString(again))
}

// TestHasBinary checks which values make a cluster message travel as
// msgpack.
func TestHasBinary(t *testing.T) {
	for _, c := range []struct {
		v    any
		want bool
	}{
		{[]any{"a", 1, map[string]any{"b": []any{true, nil}}}, false},
		{[]any{"a", time.UnixMilli(1700000000123)}, false},
		{[]any{"a", map[string]any{"b": []byte{1}}}, true},
		{[]byte{}, true},
	} {
		b, err := encodeMsgpack(value{c.v})
		require.NoError(t, err)
		require.Equal(t, c.want, hasBinary(b), "%#v", c.v)
	}
}

// TestDecodeRefusesGarbage checks that malformed messages are refused
// with an error, never a panic.
func TestDecodeRefusesGarbage(t *testing.T) {
	for _, s := range []string{"", "{", "{\"a\":", "\xdc\xff\xff", "\x93\xa6abc", "\xc1", "\xd9", "\x81\xc0\xc0", "[1,2]x"} {
		n, err := decodeMessage([]byte(s))
		if err != nil {
			continue
		}
		// What decodes must still answer its accessors without panicking.
		_, _ = n.Map()
		_, _ = n.Array()
	}
	_, err := parser.MsgpackRaw([]byte{0xc1}, parser.Limits{})
	require.Error(t, err)
}

// TestLogLimiter checks that a kind of message is logged at most once a
// second, with the count of those held back.
func TestLogLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var l logLimiter
		ok, skipped := l.allow()
		require.True(t, ok)
		require.Zero(t, skipped)
		for range 5 {
			ok, _ = l.allow()
			require.False(t, ok)
		}
		time.Sleep(logInterval)
		ok, skipped = l.allow()
		require.True(t, ok)
		require.Equal(t, 5, skipped)
	})
}

// TestCompressFlag checks that socket.io's compress flag crosses servers:
// Compress(false) is sent as flags.compress false, in both encodings, and
// read back; without it no compress flag is sent.
func TestCompressFlag(t *testing.T) {
	for _, noCompress := range []bool{false, true} {
		opts := ferry.BroadcastOptions{Rooms: []string{"r"}, NoCompress: noCompress}
		wire := encodeOptions(opts, broadcastFlags(opts))
		for name, encode := range map[string]func(any) ([]byte, error){"json": encodeJSON, "msgpack": encodeMsgpack} {
			b, err := encode(wire)
			require.NoError(t, err)
			require.Equal(t, noCompress, strings.Contains(string(b), "compress"), "%s: %q", name, b)
			n, err := decodeMessage(b)
			require.NoError(t, err)
			back, _, err := decodeOptions(n)
			require.NoError(t, err)
			require.Equal(t, noCompress, back.NoCompress, name)
			require.Equal(t, []string{"r"}, back.Rooms)
		}
	}
}
