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
