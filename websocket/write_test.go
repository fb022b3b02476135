package websocket

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// ioLog records the server's I/O on one connection, through batchConn's
// test hook: each Read call that may wait ("R") and each write to the
// network ("W"), keeping the bytes written.
type ioLog struct {
	mu     sync.Mutex
	events []string
	writes [][]byte
}

func (l *ioLog) hook(op byte, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, string(op))
	if op == 'W' {
		l.writes = append(l.writes, bytes.Clone(p))
	}
}

// reset forgets what was logged so far.
func (l *ioLog) reset() {
	l.mu.Lock()
	l.events, l.writes = nil, nil
	l.mu.Unlock()
}

func (l *ioLog) log() ([]string, [][]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...), append([][]byte(nil), l.writes...)
}

// serveLogged is serve with the server's I/O logged. The transport is
// bound to s and started.
func serveLogged(t *testing.T, s *scripted) (*Transport, *ioLog, *gorilla.Conn) {
	t.Helper()
	return serveLoggedWith(t, nil, s)
}

// serveLoggedWith is serveLogged with opts (which may be nil); the client
// offers permessage-deflate.
func serveLoggedWith(t *testing.T, opts *Options, s *scripted) (*Transport, *ioLog, *gorilla.Conn) {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Logger = slog.New(slog.DiscardHandler)
	cfg := NewConfig(&o)
	log := &ioLog{}
	ready := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := cfg.Upgrade(w, r)
		if err != nil {
			return
		}
		conn.batch.testHook = log.hook
		s.tr = New(cfg, conn, s)
		close(ready)
	}))
	t.Cleanup(srv.Close)
	d := gorilla.Dialer{HandshakeTimeout: 5 * time.Second, EnableCompression: true}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	<-ready
	t.Cleanup(func() {
		s.tr.Close()
		<-s.tr.Done()
	})
	s.tr.Start()
	return s.tr, log, conn
}

// scripted is a transport.Session for the write tests: Deliver runs
// onDeliver, and each Take runs onTake, which may queue more packets for
// the next one.
type scripted struct {
	tr        *Transport
	onDeliver func(p transport.Packet)
	onTake    func(takes int) []transport.Packet

	mu    sync.Mutex
	queue []transport.Packet // guarded by mu
	takes int                // guarded by mu
}

// send queues pkts and wakes the transport, as a session's Send does.
func (s *scripted) send(pkts ...transport.Packet) {
	s.mu.Lock()
	s.queue = append(s.queue, pkts...)
	s.mu.Unlock()
	s.tr.Wake()
}

func (s *scripted) Take(transport.Transport) ([]transport.Packet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pkts := s.queue
	s.queue = nil
	s.takes++
	if s.onTake != nil {
		s.queue = s.onTake(s.takes)
	}
	return pkts, false
}

func (s *scripted) Deliver(_ transport.Transport, p transport.Packet) error {
	if s.onDeliver != nil {
		s.onDeliver(p)
	}
	return nil
}

func (s *scripted) TransportClosed(transport.Transport, error) {}

// frames splits what the server wrote into its frames' payloads (server
// frames are unmasked; the tests' payloads are under 126 bytes).
func frames(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), 2)
		n := int(b[1] & 0x7f)
		require.Less(t, n, 126)
		require.GreaterOrEqual(t, len(b), 2+n)
		out = append(out, string(b[2:2+n]))
		b = b[2+n:]
	}
	return out
}

func TestReplyWrittenBeforeNextRead(t *testing.T) {
	// A reply queued while a packet is delivered is written by the read
	// goroutine itself, before it reads again: no other goroutine is
	// involved, as in a plain echo server.
	s := &scripted{}
	s.onDeliver = func(p transport.Packet) { s.send(transport.TextPacket("re:" + string(p.Data))) }
	_, log, conn := serveLogged(t, s)

	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("4hi")))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "4re:hi", string(data))

	events, writes := log.log()
	require.GreaterOrEqual(t, len(events), 2)
	assert.Equal(t, []string{"R", "W"}, events[:2], "the reply is written before the next read")
	assert.Equal(t, []string{"4re:hi"}, frames(t, writes[0]))
}

func TestWakeDuringLongDelivery(t *testing.T) {
	// While a handler runs long, the first Wake waits for the read
	// goroutine; a second one starts a writer, so packets from other
	// goroutines are not held up until the handler returns.
	s := &scripted{}
	inHandler, release := make(chan struct{}), make(chan struct{})
	s.onDeliver = func(transport.Packet) {
		close(inHandler)
		<-release
	}
	_, _, conn := serveLogged(t, s)
	defer close(release)

	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("4slow")))
	<-inHandler
	s.send(transport.TextPacket("a"))
	s.send(transport.TextPacket("b"))
	for _, want := range []string{"4a", "4b"} {
		_, data, err := conn.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, want, string(data))
	}
}

// shared returns a text packet marked as framed once for many connections,
// as a broadcast is.
func shared(data string) transport.Packet {
	p := transport.TextPacket(data)
	p.Shared = new(transport.FrameCache)
	return p
}

func TestBroadcastsCoalesce(t *testing.T) {
	// A writer holding a broadcast packet takes again while each round
	// brings more, up to maxCoalesceRounds rounds, then writes them all at
	// once. Here every Take finds one more packet, 40 in all.
	const total = 40
	s := &scripted{}
	s.onTake = func(takes int) []transport.Packet {
		if takes >= total {
			return nil
		}
		return []transport.Packet{shared("x")}
	}
	_, log, conn := serveLogged(t, s)
	s.send(shared("x"))
	for range total {
		_, data, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, "4x", string(data))
	}
	_, writes := log.log()
	var sizes []int
	for _, w := range writes {
		sizes = append(sizes, len(frames(t, w)))
	}
	per := maxCoalesceRounds + 1
	assert.Equal(t, []int{per, per, total - 2*per}, sizes)
}

func TestRepliesDoNotWait(t *testing.T) {
	// Without a broadcast packet among them, queued packets are written as
	// soon as they are taken: here one write per Take.
	const total = 5
	s := &scripted{}
	s.onTake = func(takes int) []transport.Packet {
		if takes >= total {
			return nil
		}
		return []transport.Packet{transport.TextPacket("y")}
	}
	_, log, conn := serveLogged(t, s)
	s.send(transport.TextPacket("y"))
	for range total {
		_, data, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, "4y", string(data))
	}
	_, writes := log.log()
	require.Len(t, writes, total)
	for _, w := range writes {
		assert.Equal(t, []string{"4y"}, frames(t, w))
	}
}

func TestReadAheadBufferReleased(t *testing.T) {
	// Input is read into a pooled buffer that the connection gives back as
	// soon as its bytes are handled: between messages it holds none.
	s := newRecorder()
	tr, conn := serve(t, nil, s, "")
	require.NotNil(t, tr.conn.batch.raw, "a TCP connection is read without a held buffer")
	defer func() {
		tr.Close()
		<-tr.Done()
	}()

	big := strings.Repeat("z", 3*readAheadSize) // spans several read-aheads
	for i, msg := range []string{"4a", "4" + big, "4" + strings.Repeat("m", 300), "4b"} {
		require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte(msg)))
		select {
		case p := <-s.delivered:
			require.Equal(t, msg[1:], string(p.Data), "message %d", i)
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d not delivered", i)
		}
		// The read goroutine released the buffer before it delivered the
		// packet (the channel orders the two), and reads nothing more
		// until the next message is sent.
		assert.Nil(t, tr.conn.batch.ahead, "message %d: a read buffer is held between messages", i)
	}
}

func TestBroadcastBurstCoalesces(t *testing.T) {
	// While the server is still handing out a broadcast, a writer holding
	// an earlier one takes again even after a round that brought nothing;
	// once the burst is over, it writes what it has, in one write.
	burst := new(transport.Burst)
	burst.Begin()
	inBurst := func(data string) transport.Packet {
		p := shared(data)
		p.Shared.Burst = burst
		return p
	}
	s := &scripted{}
	s.onTake = func(takes int) []transport.Packet {
		switch takes {
		case 4: // three empty rounds, then the next broadcast arrives
			return []transport.Packet{inBurst("y")}
		case 5: // the burst is over
			burst.End()
		}
		return nil
	}
	_, log, conn := serveLogged(t, s)
	s.send(inBurst("x"))
	for _, want := range []string{"4x", "4y"} {
		_, data, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, want, string(data))
	}
	_, writes := log.log()
	require.Len(t, writes, 1)
	assert.Equal(t, []string{"4x", "4y"}, frames(t, writes[0]))
}

func TestBroadcastBurstBounded(t *testing.T) {
	// A burst that never ends holds a writer for maxCoalesceRounds rounds at
	// most: the packet still goes out.
	burst := new(transport.Burst)
	burst.Begin()
	t.Cleanup(burst.End)
	p := shared("x")
	p.Shared.Burst = burst
	s := &scripted{}
	_, _, conn := serveLogged(t, s)
	s.send(p)
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "4x", string(data))
	s.mu.Lock()
	defer s.mu.Unlock()
	require.GreaterOrEqual(t, s.takes, 1+maxCoalesceRounds, "the writer kept taking while the burst lasted")
}

func TestWakeOnTheSpotWritesPing(t *testing.T) {
	// The session's heartbeat timer queues a ping and calls WakeOnTheSpot:
	// the ping is written on the caller's goroutine before the call
	// returns, in one write, and no writer is left active; the same while
	// the read goroutine is delivering a packet (and has not written on
	// the spot yet).
	inDeliver, release := make(chan struct{}), make(chan struct{})
	s := &scripted{onDeliver: func(transport.Packet) {
		inDeliver <- struct{}{}
		<-release
	}}
	tr, log, conn := serveLogged(t, s)
	ping := func() {
		t.Helper()
		log.reset()
		s.mu.Lock()
		s.queue = append(s.queue, transport.Packet{Type: transport.Ping})
		s.mu.Unlock()
		tr.WakeOnTheSpot()
		_, writes := log.log()
		require.Len(t, writes, 1, "written before WakeOnTheSpot returned")
		assert.Equal(t, []string{"2"}, frames(t, writes[0]))
		tr.mu.Lock()
		assert.False(t, tr.writing, "no writer left active")
		tr.mu.Unlock()
		_, data, err := conn.ReadMessage()
		require.NoError(t, err)
		assert.Equal(t, "2", string(data))
	}
	ping()

	require.NoError(t, conn.WriteMessage(gorilla.TextMessage, []byte("4hi")))
	<-inDeliver
	ping()
	close(release)
}

func TestBroadcastAfterBurstDoesNotWait(t *testing.T) {
	// A writer holding a broadcast whose server has finished handing out
	// writes what it took without letting the others run first, even if
	// broadcasts keep arriving (paced ones, each queued while the writer
	// was writing the one before): one write per broadcast, none held back
	// for a later one.
	const total = 5
	burst := new(transport.Burst)
	paced := func() transport.Packet {
		p := shared("x")
		p.Shared.Burst = burst
		return p
	}
	s := &scripted{}
	s.onTake = func(takes int) []transport.Packet {
		if takes >= total {
			return nil
		}
		return []transport.Packet{paced()}
	}
	_, log, conn := serveLogged(t, s)
	s.send(paced())
	for range total {
		_, data, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, "4x", string(data))
	}
	_, writes := log.log()
	var sizes []int
	for _, w := range writes {
		sizes = append(sizes, len(frames(t, w)))
	}
	assert.Equal(t, []int{1, 1, 1, 1, 1}, sizes)
}
