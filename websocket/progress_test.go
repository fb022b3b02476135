package websocket

import (
	"bytes"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tcpPair returns the two ends of a loopback TCP connection with small
// socket buffers, so that a large write waits on the reader.
func tcpPair(t *testing.T) (writer, reader *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	w, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	r := <-accepted
	require.NotNil(t, r)
	t.Cleanup(func() { w.Close(); r.Close() })
	require.NoError(t, w.(*net.TCPConn).SetWriteBuffer(64<<10))
	require.NoError(t, r.(*net.TCPConn).SetReadBuffer(64<<10))
	return w.(*net.TCPConn), r.(*net.TCPConn)
}

// A frame far larger than the socket buffers, taken by a slow reader over
// several times the write timeout, goes out whole: each chunk gets the
// timeout of its own, and each records progress.
func TestSlowReaderTakesLargeFrame(t *testing.T) {
	const timeout = 150 * time.Millisecond
	w, r := tcpPair(t)
	c := &batchConn{Conn: w, pool: &sync.Pool{}, chunkTimeout: timeout}
	frame := bytes.Repeat([]byte{'x'}, 4<<20)

	// The reader takes at most 32 KiB every 10ms: a 4 MiB frame needs
	// well over a second, many times the timeout.
	got := make(chan []byte, 1)
	go func() {
		var all bytes.Buffer
		buf := make([]byte, 32<<10)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for all.Len() < len(frame) {
			<-tick.C
			n, err := r.Read(buf)
			all.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got <- all.Bytes()
	}()

	require.NoError(t, c.SetWriteDeadline(time.Now().Add(timeout)))
	start := time.Now()
	var progress []time.Time
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(frame)
		done <- err
	}()
	tick := time.NewTicker(timeout / 2)
	defer tick.Stop()
wait:
	for {
		select {
		case err := <-done:
			require.NoError(t, err, "the frame is written whole")
			break wait
		case <-tick.C:
			progress = append(progress, c.lastProgress())
		}
	}
	elapsed := time.Since(start)
	assert.Greater(t, elapsed, 2*timeout, "the reader was slower than one timeout")
	assert.Equal(t, frame, <-got)
	moving := 0
	for i := 1; i < len(progress); i++ {
		if progress[i].After(progress[i-1]) {
			moving++
		}
	}
	assert.Greater(t, moving, 1, "progress kept moving during the write: %v", progress)
}

// A reader that stops reading still fails the write once a chunk has
// waited for the timeout.
func TestStalledReaderFailsLargeFrame(t *testing.T) {
	const timeout = 150 * time.Millisecond
	w, _ := tcpPair(t)
	c := &batchConn{Conn: w, pool: &sync.Pool{}, chunkTimeout: timeout}
	require.NoError(t, c.SetWriteDeadline(time.Now().Add(timeout)))
	start := time.Now()
	_, err := c.Write(bytes.Repeat([]byte{'x'}, 16<<20))
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Less(t, time.Since(start), 3*time.Second)
}

// A slow peer's frame arriving in pieces records read progress before the
// frame is complete.
func TestReadRecordsProgress(t *testing.T) {
	w, r := tcpPair(t)
	c := &batchConn{Conn: r, pool: &sync.Pool{}}
	require.True(t, c.lastProgress().IsZero())
	_, err := w.Write([]byte("part"))
	require.NoError(t, err)
	buf := make([]byte, 16<<10)
	n, err := c.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	assert.False(t, c.lastProgress().IsZero())
	w.Close()
	_, err = io.ReadAll(c)
	require.NoError(t, err)
}

// Bytes the kernel took at once, which the peer then takes slowly, show
// as progress: the send queue changes between two looks. While the peer
// takes nothing, it does not.
func TestDrainingSendQueueIsProgress(t *testing.T) {
	w, r := tcpPair(t)
	c := &batchConn{Conn: w, pool: &sync.Pool{}, raw: rawConn(w)}
	if c.unsent() < 0 {
		t.Skip("the send queue cannot be read on this system")
	}
	// Fill the socket: the peer's receive buffer and our send queue.
	chunk := bytes.Repeat([]byte{'x'}, 16<<10)
	for {
		n, err := c.writeNow(chunk)
		require.NoError(t, err)
		if n < len(chunk) {
			break
		}
	}
	require.Positive(t, c.unsent(), "bytes wait in the send queue")
	// Settled: two looks in a row find the queue unchanged.
	require.Eventually(t, func() bool {
		a := c.lastProgress()
		return c.lastProgress().Equal(a)
	}, 5*time.Second, time.Millisecond)
	settled := c.lastProgress()

	// The peer takes some: the queue moves, which is progress.
	_, err := io.ReadFull(r, make([]byte, 64<<10))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return c.lastProgress().After(settled) }, 5*time.Second, time.Millisecond,
		"the draining queue counts as progress")
}
