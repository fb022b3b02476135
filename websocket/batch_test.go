package websocket

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// countingConn records each Write it receives.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes [][]byte
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

func TestBatchConn(t *testing.T) {
	under := &countingConn{}
	c := &batchConn{Conn: under, pool: &sync.Pool{}}

	// Outside a batch, each write goes straight through.
	c.Write([]byte("a"))
	c.Write([]byte("b"))
	require.Equal(t, [][]byte{[]byte("a"), []byte("b")}, under.writes)

	// In a batch, the frames leave together at the end, in order.
	under.writes = nil
	c.begin()
	for _, f := range []string{"one", "two", "three"} {
		n, err := c.Write([]byte(f))
		require.NoError(t, err)
		require.Equal(t, len(f), n)
	}
	require.Empty(t, under.writes, "nothing is written before the batch ends")
	require.NoError(t, c.end())
	require.Equal(t, [][]byte{[]byte("onetwothree")}, under.writes)
	require.Nil(t, c.buf, "an idle connection holds no buffer")

	// A batch that would grow past maxBatch is written out first, and a
	// frame of maxBatch bytes or more goes out by itself.
	under.writes = nil
	big := bytes.Repeat([]byte{'x'}, maxBatch)
	c.begin()
	c.Write([]byte("head"))
	c.Write(big)
	c.Write([]byte("tail"))
	require.NoError(t, c.end())
	require.Equal(t, [][]byte{[]byte("head"), big, []byte("tail")}, under.writes)

	// An empty batch writes nothing.
	under.writes = nil
	c.begin()
	require.NoError(t, c.end())
	require.Empty(t, under.writes)
}

// deadlineConn records the write deadlines set on it.
type deadlineConn struct {
	countingConn
	deadlines []time.Time
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.deadlines = append(c.deadlines, t)
	return nil
}

func TestBatchConnDeadline(t *testing.T) {
	under := &deadlineConn{}
	c := &batchConn{Conn: under, pool: &sync.Pool{}}
	d1 := time.Unix(100, 0)
	d2 := time.Unix(200, 0)

	// Within a batch, a deadline set before each frame is applied once, at
	// flush; the same deadline in the next batch is not applied again.
	for range 2 {
		c.begin()
		for range 3 {
			require.NoError(t, c.SetWriteDeadline(d1))
			c.Write([]byte("f"))
		}
		require.NoError(t, c.end())
	}
	require.Equal(t, []time.Time{d1}, under.deadlines)

	// Outside a batch (a control frame from the reader), a new deadline goes
	// straight through, and the next batch restores its own.
	require.NoError(t, c.SetWriteDeadline(d2))
	c.begin()
	require.NoError(t, c.SetWriteDeadline(d1))
	c.Write([]byte("f"))
	require.NoError(t, c.end())
	require.Equal(t, []time.Time{d1, d2, d1}, under.deadlines)
}

// TestFailedBatchLeavesNothingBehind checks that a batch which cannot be
// written, because its connection was closed under it, does not hand its
// bytes on with the pooled buffer: the next connection to take that buffer
// sends only its own frames. (A reader answering a close frame while a
// batch is open moves the write deadline; the connection then closes, and
// the flush fails before it writes.)
func TestFailedBatchLeavesNothingBehind(t *testing.T) {
	pool := &sync.Pool{}
	for range 50 {
		end, _ := net.Pipe()
		closed := &batchConn{Conn: end, pool: pool}
		closed.begin()
		_, err := closed.Write([]byte("theirs"))
		require.NoError(t, err)
		require.NoError(t, closed.SetWriteDeadline(time.Now().Add(time.Minute)))
		require.NoError(t, end.Close())
		require.Error(t, closed.end(), "the batch's connection is closed")

		under := &countingConn{}
		next := &batchConn{Conn: under, pool: pool}
		next.begin()
		_, err = next.Write([]byte("mine"))
		require.NoError(t, err)
		require.NoError(t, next.end())
		require.Equal(t, [][]byte{[]byte("mine")}, under.writes)
	}
}

func TestEndNowCarriesWhatTheSocketRefuses(t *testing.T) {
	// endNow makes one attempt that does not wait: on a socket whose peer
	// does not read, what the kernel refuses stays as the carry, goes out
	// ahead of anything written later, and flushCarry writes it once the
	// peer reads again. Nothing is lost or reordered.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	peer, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer peer.Close()
	under := <-accepted
	defer under.Close()
	require.NoError(t, under.(*net.TCPConn).SetWriteBuffer(4096))
	require.NoError(t, peer.(*net.TCPConn).SetReadBuffer(4096))

	c := &batchConn{Conn: under, pool: &sync.Pool{}, raw: rawConn(under)}
	require.NotNil(t, c.raw)
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<10) // 48 KiB: a batch, and more than the small buffers hold
	c.begin()
	_, err = c.Write(big)
	require.NoError(t, err)
	carried, err := c.endNow()
	require.NoError(t, err)
	require.True(t, carried, "a peer that does not read cannot take 48 KiB at once")

	// A control frame the reader writes meanwhile goes after the carry.
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(peer, int64(len(big)+4)))
		got <- b
	}()
	_, err = c.Write([]byte("ctrl"))
	require.NoError(t, err)
	require.NoError(t, c.flushCarry())
	require.Equal(t, append(bytes.Clone(big), "ctrl"...), <-got)
	require.Nil(t, c.buf, "an idle connection holds no buffer")
}
