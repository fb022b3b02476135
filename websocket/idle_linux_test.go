package websocket

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// parked reports whether tr's connection is parked with its Config's
// poller, its read goroutine gone.
func parked(tr *Transport) bool {
	p := tr.cfg.idle
	p.mu.Lock()
	defer p.mu.Unlock()
	return tr.park.slot != 0
}

// parkedReaderSize returns the size of the buffer held by the buffered
// reader of tr, which must be parked: read under the poller's lock, which
// the poller takes before it starts the next reader.
func parkedReaderSize(tr *Transport) int {
	p := tr.cfg.idle
	p.mu.Lock()
	defer p.mu.Unlock()
	if tr.park.slot == 0 {
		return -1
	}
	return tr.conn.reader.Size()
}

// waitParked waits until tr's reader has gone quiet and parked the
// connection: busyWait after the last message at most, and some margin.
func waitParked(t *testing.T, tr *Transport) {
	t.Helper()
	require.Eventually(t, func() bool { return parked(tr) }, 5*time.Second, time.Millisecond,
		"the reader of an idle connection parks it")
}

// serveWith upgrades one connection with cfg on an httptest server, binds
// it to s and starts it.
func serveWith(t *testing.T, cfg *Config, s transport.Session) (*Transport, *gorilla.Conn) {
	t.Helper()
	ready := make(chan *Transport, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := cfg.Upgrade(w, r)
		if err != nil {
			return
		}
		ready <- New(cfg, conn, s)
	}))
	t.Cleanup(srv.Close)
	conn, _, err := gorilla.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	tr := <-ready
	t.Cleanup(func() {
		tr.Close()
		<-tr.Done()
	})
	tr.Start()
	return tr, conn
}

// delivered waits for the next packet the recorder was given.
func delivered(t *testing.T, s *recorder) transport.Packet {
	t.Helper()
	select {
	case p := <-s.delivered:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no packet delivered")
		return transport.Packet{}
	}
}

func TestIdleConnectionParksAndResumes(t *testing.T) {
	// A reader with nothing to read parks its connection and ends; input
	// starts a new one, which reads it. Each time the read deadline of the
	// reader's last wait in its goroutine has passed: it does not stop the
	// reads that follow.
	s := newRecorder()
	tr, conn := serve(t, nil, s, "")
	for i, msg := range []string{"4a", "4b", "4c"} {
		waitParked(t, tr)
		assert.Zero(t, parkedReaderSize(tr), "a parked connection's reader holds no buffer")
		require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte(msg)))
		assert.Equal(t, msg[1:], string(delivered(t, s).Data), "message %d", i)
	}
	// The connection still works both ways.
	s.push(false, transport.TextPacket("out"))
	tr.Wake()
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "4out", string(data))
}

func TestParkedConnectionClose(t *testing.T) {
	// Closing a transport whose reader is parked reports the end at once,
	// with a close frame to the peer; the poller lets the connection go.
	s := newRecorder()
	tr, conn := serve(t, nil, s, "")
	waitParked(t, tr)
	require.NoError(t, tr.Close())
	assert.False(t, parked(tr))
	select {
	case <-tr.Done():
	default:
		t.Fatal("Done is not closed after Close of a parked transport")
	}
	require.NoError(t, s.waitClosed(t))
	err := readClose(t, conn)
	assert.True(t, gorilla.IsCloseError(err, gorilla.CloseNoStatusReceived), "got %v", err)
}

func TestParkedConnectionPeerHangsUp(t *testing.T) {
	// A peer that drops a parked connection: the poller starts a reader,
	// which finds the connection closed.
	s := newRecorder()
	tr, conn := serve(t, nil, s, "")
	waitParked(t, tr)
	require.NoError(t, conn.Close())
	assert.ErrorIs(t, s.waitClosed(t), transport.ErrPeerClosed)
	<-tr.Done()
	assert.False(t, parked(tr))
}

func TestPollerEndsWithTheLastParkedConnection(t *testing.T) {
	// The poll goroutine and its epoll instance exist while connections
	// are parked, and go once none is.
	cfg := NewConfig(&Options{Logger: slog.New(slog.DiscardHandler)})
	s1, s2 := newRecorder(), newRecorder()
	tr1, _ := serveWith(t, cfg, s1)
	tr2, conn2 := serveWith(t, cfg, s2)
	waitParked(t, tr1)
	waitParked(t, tr2)
	open := func() bool {
		cfg.idle.mu.Lock()
		defer cfg.idle.mu.Unlock()
		return cfg.idle.epoll != nil
	}
	require.True(t, open())
	require.NoError(t, tr1.Close())
	require.NoError(t, s1.waitClosed(t))
	assert.True(t, open(), "a connection is still parked")
	require.NoError(t, conn2.WriteMessage(gorilla.TextMessage, []byte("4still")))
	assert.Equal(t, "still", string(delivered(t, s2).Data))
	require.NoError(t, tr2.Close())
	require.NoError(t, s2.waitClosed(t))
	require.Eventually(t, func() bool { return !open() }, 5*time.Second, time.Millisecond,
		"the poller closes its epoll instance once no connection is parked")
}

func TestMessageInProgressOutlastsBusyWait(t *testing.T) {
	// A busy reader waits for the next message in its goroutine with a
	// read deadline. A message that starts arriving in that wait and ends
	// after the deadline is read whole: the deadline bounds the wait
	// between messages, not a message.
	got := make(chan string, 2)
	s := &scripted{onDeliver: func(p transport.Packet) { got <- string(p.Data) }}
	_, log, conn := serveLogged(t, s)
	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("4first")))
	require.Equal(t, "first", <-got)

	frame := clientFrames("4second")
	_, err := conn.UnderlyingConn().Write(frame[:4])
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		events, _ := log.log()
		return slices.Contains(events, "D")
	}, 5*time.Second, time.Millisecond, "the read of the message in progress meets the deadline")
	_, err = conn.UnderlyingConn().Write(frame[4:])
	require.NoError(t, err)
	select {
	case p := <-got:
		assert.Equal(t, "second", p)
	case <-time.After(5 * time.Second):
		t.Fatal("the message whose end came after the deadline was not delivered")
	}
}
