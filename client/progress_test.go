package client

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bytes moving between client and server while no ping comes (a large
// message on its way) keep the session: silence counts from the last of
// them. When they stop, the session ends pingInterval+pingTimeout later.
func TestHeartbeatProgressDefersTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := testEngine(1000, 2000, 0)
		go e.heartbeat()
		for i := range 10 {
			time.Sleep(time.Second)
			e.moved()
			synctest.Wait()
			require.False(t, e.isDone(), "ended while bytes were moving, %d s in", i+1)
		}
		last := time.Now()
		time.Sleep(3*time.Second - time.Nanosecond)
		synctest.Wait()
		require.False(t, e.isDone())
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		require.True(t, e.isDone(), "silence after the bytes stopped ends the session")
		assert.Equal(t, 3*time.Second, time.Since(last))
		e.mu.Lock()
		assert.Equal(t, ReasonPingTimeout, e.reason)
		e.mu.Unlock()
	})
}

// wsPair returns a client connection and the server's end of one
// WebSocket on 127.0.0.1.
func wsPair(t *testing.T) (client, server *gorilla.Conn) {
	t.Helper()
	conns := make(chan *gorilla.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&gorilla.Upgrader{}).Upgrade(w, r, nil)
		if err == nil {
			conns <- c
		}
	}))
	t.Cleanup(srv.Close)
	c, _, err := gorilla.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	require.NoError(t, err)
	s := <-conns
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// A message arriving in pieces records progress before it is complete.
func TestReadFrameRecordsProgress(t *testing.T) {
	e := testEngine(25000, 20000, 0)
	c, s := wsPair(t)
	w, err := s.NextWriter(gorilla.TextMessage)
	require.NoError(t, err)
	// More than gorilla's write buffer, so that it goes out as a frame of
	// its own while the message is still open.
	first := bytes.Repeat([]byte{'a'}, 8<<10)
	_, err = w.Write(first)
	require.NoError(t, err)

	got := make(chan []byte, 1)
	go func() {
		_, data, _ := e.readFrame(c)
		got <- data
	}()
	require.Eventually(t, func() bool { return !e.lastProgress().IsZero() }, 5*time.Second, time.Millisecond,
		"the first piece arrived: progress")
	select {
	case <-got:
		t.Fatal("the message was read before it was complete")
	default:
	}
	_, err = w.Write([]byte("end"))
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, append(first, "end"...), <-got)
}

// A large message is written in pieces, each recording progress; the
// server gets it whole, as one message.
func TestWriteFrameRecordsProgress(t *testing.T) {
	e := testEngine(25000, 20000, 0)
	c, s := wsPair(t)
	small := []byte("4small")
	require.NoError(t, e.writeFrame(c, gorilla.TextMessage, small))
	assert.True(t, e.lastProgress().IsZero(), "a small message the kernel takes says nothing of the server")
	big := bytes.Repeat([]byte{'b'}, 4*writeChunk+1)
	require.NoError(t, e.writeFrame(c, gorilla.BinaryMessage, big))
	assert.False(t, e.lastProgress().IsZero())
	for _, want := range [][]byte{small, big} {
		_, data, err := s.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, want, data)
	}
}

// While a message arrives in pieces over a longer time than the server's
// heartbeat allows, the client sends WebSocket ping frames, which the
// server reads as signs of life; it sends none for a message that arrives
// at once.
func TestReadFrameSendsKeepalives(t *testing.T) {
	e := testEngine(40, 40, 0) // ms: a keepalive at most every 20 ms
	c, s := wsPair(t)
	pings := make(chan struct{}, 100)
	s.SetPingHandler(func(string) error { pings <- struct{}{}; return nil })
	// The server's reader handles control frames while the test writes,
	// and passes on the client's messages: a message read means every
	// ping sent before it was handled.
	marks := make(chan string, 4)
	go func() {
		for {
			_, data, err := s.ReadMessage()
			if err != nil {
				return
			}
			marks <- string(data)
		}
	}()
	// drain returns how many pings the server handled before the client's
	// next message.
	drain := func(mark string) int {
		require.NoError(t, c.WriteMessage(gorilla.TextMessage, []byte(mark)))
		require.Equal(t, mark, <-marks)
		n := 0
		for {
			select {
			case <-pings:
				n++
			default:
				return n
			}
		}
	}

	got := make(chan []byte, 1)
	go func() {
		_, data, _ := e.readFrame(c)
		got <- data
	}()
	w, err := s.NextWriter(gorilla.TextMessage)
	require.NoError(t, err)
	piece := bytes.Repeat([]byte{'a'}, 8<<10)
	var sent []byte
	// One piece per tick until a keepalive came: the message is still
	// arriving, as a large one on a slow link would.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	giveUp := time.After(5 * time.Second)
	for waiting := true; waiting; {
		select {
		case <-pings:
			waiting = false
		case <-tick.C:
			_, err := w.Write(piece)
			require.NoError(t, err)
			sent = append(sent, piece...)
		case <-giveUp:
			t.Fatal("no keepalive while a message arrived for longer than the heartbeat allows")
		}
	}
	require.NoError(t, w.Close())
	assert.Equal(t, sent, <-got)
	drain("after the large message")

	// A small message that arrives at once brings no keepalive.
	require.NoError(t, s.WriteMessage(gorilla.TextMessage, []byte("4hi")))
	_, data, err := e.readFrame(c)
	require.NoError(t, err)
	assert.Equal(t, "4hi", string(data))
	assert.Zero(t, drain("after the small one"), "a keepalive for a message that arrived at once")
}
