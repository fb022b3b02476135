package client

import (
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// testEngine returns an engine that is not connected to anything, owned by
// a bare Client.
func testEngine(pingInterval, pingTimeout, maxPayload int) *engine {
	c := &Client{
		opts:    Options{MaxQueuedPackets: defaultMaxQueuedPackets},
		codec:   parser.Msgpack(),
		log:     slog.New(slog.DiscardHandler),
		disp:    newDispatcher(),
		engines: make(map[*engine]struct{}),
		sockets: make(map[string]*Socket),
	}
	return newEngine(c, transportPolling, &openPacket{SID: "sid", PingInterval: pingInterval, PingTimeout: pingTimeout, MaxPayload: maxPayload})
}

func TestHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := testEngine(25000, 20000, 0)
		go e.heartbeat()

		// A ping just before the deadline re-arms the timer, and is
		// answered with a pong.
		time.Sleep(44 * time.Second)
		e.receive(transport.Packet{Type: transport.Ping})
		synctest.Wait()
		assert.False(t, e.isDone())
		e.mu.Lock()
		assert.Equal(t, []transport.Packet{{Type: transport.Pong}}, e.queue)
		e.mu.Unlock()

		time.Sleep(44 * time.Second)
		synctest.Wait()
		assert.False(t, e.isDone(), "45 s of silence are tolerated after a ping")

		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		require.True(t, e.isDone(), "silence beyond pingInterval+pingTimeout ends the session")
		e.mu.Lock()
		assert.Equal(t, ReasonPingTimeout, e.reason)
		e.mu.Unlock()
	})
}

func TestHeartbeatStopsWithSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := testEngine(25000, 20000, 0)
		done := make(chan struct{})
		go func() {
			e.heartbeat()
			close(done)
		}()
		e.terminate(ReasonTransportClose, nil)
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("heartbeat still running after terminate")
		}
		assert.Equal(t, ReasonTransportClose, e.reason)
	})
}

func TestPollingBatchSize(t *testing.T) {
	e := testEngine(25000, 20000, 100)
	msg := func(n int) transport.Packet { return transport.TextPacket(strings.Repeat("x", n)) }
	// 30+1 bytes each: three fit in 100 bytes with separators (31*3+2).
	e.queue = []transport.Packet{msg(30), msg(30), msg(30), msg(30), msg(200), msg(10)}

	e.mu.Lock()
	defer e.mu.Unlock()
	var sizes []int
	for batch := e.takeLocked(); batch != nil; batch = e.takeLocked() {
		sizes = append(sizes, len(batch))
		if len(batch) > 1 {
			assert.LessOrEqual(t, transport.PayloadLen(batch), 100)
		}
	}
	assert.Equal(t, []int{3, 1, 1, 1}, sizes, "a packet larger than maxPayload goes alone")
	assert.Empty(t, e.queue)

	e.kind = transportWebSocket
	e.queue = []transport.Packet{msg(300), msg(300)}
	assert.Len(t, e.takeLocked(), 2, "no size limit per batch on a WebSocket: one frame per packet")
}

func TestEnqueueBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := testEngine(25000, 20000, 0)
		e.maxQueued = 3
		go e.heartbeat()
		p := transport.TextPacket("x")

		require.NoError(t, e.enqueue(p, p))
		require.NoError(t, e.enqueue(p), "the queue may hold exactly MaxQueuedPackets")
		require.ErrorIs(t, e.enqueue(p), ErrQueueFull)
		e.mu.Lock()
		assert.Empty(t, e.queue, "an overflowing session writes nothing more")
		e.mu.Unlock()
		assert.ErrorIs(t, e.enqueue(p), errSessionEnding, "after the overflow, packets are refused as by a closing session")

		synctest.Wait()
		require.True(t, e.isDone(), "the heartbeat goroutine ends the session without waiting for a timer")
		assert.Equal(t, ReasonQueueFull, e.reason)
	})
}

func TestSocketBufferOverflow(t *testing.T) {
	c := testEngine(25000, 20000, 0).c
	c.opts.MaxQueuedPackets = 2
	s := c.Socket("/", nil)
	var connectErr error
	s.OnConnectError(func(err error) { connectErr = err })
	s.mu.Lock()
	s.active = true // waiting to (re)connect: emits are buffered
	s.mu.Unlock()

	a := &pendingAck{ch: make(chan ackResult, 1)}
	require.NoError(t, s.emit("with ack", nil, a))
	require.NoError(t, s.emit("plain", nil, nil))
	s.mu.Lock()
	assert.Len(t, s.buffer, 2)
	assert.Equal(t, 2, s.buffered)
	s.mu.Unlock()

	err := s.emit("one too many", nil, nil)
	require.ErrorIs(t, err, ErrQueueFull)

	var r ackResult
	select {
	case r = <-a.ch:
	default:
		t.Fatal("the buffered event's acknowledgement is still pending")
	}
	var de *DisconnectError
	require.ErrorAs(t, r.err, &de)
	assert.Equal(t, ReasonQueueFull, de.Reason)
	assert.ErrorIs(t, r.err, ErrQueueFull)

	s.mu.Lock()
	assert.False(t, s.active)
	assert.Empty(t, s.buffer, "buffered events are dropped")
	assert.Zero(t, s.buffered)
	assert.Empty(t, s.acks)
	s.mu.Unlock()
	assert.ErrorIs(t, s.Emit("after"), ErrInactive)

	// OnConnectError reports it: the socket was waiting to join.
	c.disp.stop()
	c.disp.run()
	require.ErrorAs(t, connectErr, &de)
	assert.Equal(t, ReasonQueueFull, de.Reason)
}
