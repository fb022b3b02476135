package redisadapter

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStreamName checks the namespace-to-stream mapping against values
// that Node's hashCode (@socket.io/redis-streams-adapter 0.3.1, lib/util)
// gives: Java's String.hashCode over UTF-16 code units, and a remainder
// with the hash's sign.
func TestStreamName(t *testing.T) {
	cases := []struct {
		nsp        string
		hash       int32
		mod4, mod7 int
	}{
		{"/", 47, 3, 5},
		{"/chat", 46457863, 3, 4},
		{"/admin", 1438238848, 0, 4},
		{"/notifications", -1014064871, -3, -1},
		{"/é", 1690, 2, 3},
		{"/😀", 1818066, 2, 5}, // a surrogate pair: two code units
		{"/a-very-long-namespace-name-that-overflows-int32", 1493414343, 3, 1},
	}
	for _, c := range cases {
		require.Equal(t, c.hash, hashCode(c.nsp), c.nsp)
		require.Equal(t, "socket.io-"+strconv.Itoa(c.mod4), streamName("socket.io", 4, c.nsp), c.nsp)
		require.Equal(t, "s-"+strconv.Itoa(c.mod7), streamName("s", 7, c.nsp), c.nsp)
		require.Equal(t, "socket.io", streamName("socket.io", 1, c.nsp), "one stream: its name")
	}
}

func TestStreamIDs(t *testing.T) {
	for _, bad := range []string{"", "1", "-1", "1-", "a-1", "1-1-1", "1 -1", "0x1-1", "junk"} {
		_, ok := parseStreamID(bad)
		require.False(t, ok, bad)
	}
	id, ok := parseStreamID("1700000000000-3")
	require.True(t, ok)
	require.Equal(t, "1700000000000-4", id.next().String())
	require.True(t, idLess("1-9", "2-0"))
	require.True(t, idLess("2-1", "2-10"))
	require.False(t, idLess("2-10", "2-10"))
	require.Equal(t, "6-0", streamID{5, ^uint64(0)}.next().String())
}
