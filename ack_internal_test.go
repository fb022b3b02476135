package ferry

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/client"
)

// pendingAcks returns how many acks socket s still waits for.
func pendingAcks(s *Socket) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acks)
}

func TestBroadcastAckEntriesRemoved(t *testing.T) {
	// A broadcast's ack entries on its targets go when it completes or
	// times out: 100 timed-out broadcasts leave none behind.
	quiet := slog.New(slog.DiscardHandler)
	srv := NewServer(&Options{Logger: quiet})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { srv.Close() })
	joined := make(chan *Socket, 2)
	srv.OnConnection(func(s *Socket) { joined <- s })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	connect := func(answer bool) *Socket {
		c, err := client.Dial(ctx, hs.URL, &client.Options{Transports: []string{"websocket"}, DisableReconnection: true, Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		cs := c.Socket("/", nil)
		if answer {
			cs.On("q", func(e *client.Event) { e.Ack("a") })
		}
		require.NoError(t, cs.Connect(ctx))
		return <-joined
	}
	answering, mute := connect(true), connect(false)

	for range 100 {
		short, stop := context.WithTimeout(ctx, time.Millisecond)
		srv.Of("/").EmitWithAck(short, "q")
		stop()
	}
	require.Eventually(t, func() bool { return pendingAcks(mute) == 0 }, 5*time.Second, time.Millisecond,
		"timed-out broadcasts left %d ack entries", pendingAcks(mute))
	acks, err := srv.Of("/").Except(mute.ID()).EmitWithAck(ctx, "q")
	require.NoError(t, err)
	require.Len(t, acks, 1)
	require.Zero(t, pendingAcks(answering))
}
