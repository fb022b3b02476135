package ferry

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// burstProbe is a MemoryAdapter that records, for each broadcast, whether
// the packets it handed out carry the server's burst.
type burstProbe struct {
	*MemoryAdapter
	server *Server
	seen   []bool
}

func (a *burstProbe) check(pkt *EncodedPacket) {
	a.seen = append(a.seen, len(pkt.engine) > 0 && pkt.engine[0].Shared.Burst == &a.server.burst)
}

func (a *burstProbe) Broadcast(ctx context.Context, pkt *EncodedPacket, opts BroadcastOptions) error {
	err := a.MemoryAdapter.Broadcast(ctx, pkt, opts)
	a.check(pkt)
	return err
}

func (a *burstProbe) BroadcastWithAck(ctx context.Context, pkt *EncodedPacket, opts BroadcastOptions, acks *AckCollector) error {
	err := a.MemoryAdapter.BroadcastWithAck(ctx, pkt, opts, acks)
	a.check(pkt)
	return err
}

func TestBroadcastCountsInBurst(t *testing.T) {
	var probe *burstProbe
	srv := NewServer(&Options{Adapter: func(nsp *Namespace) Adapter {
		probe = &burstProbe{MemoryAdapter: NewMemoryAdapter(nsp), server: nsp.Server()}
		return probe
	}})
	t.Cleanup(func() { srv.Close() })

	require.NoError(t, srv.Emit("tick", 1))
	_, err := srv.Of("/").EmitWithAck(context.Background(), "ask")
	require.NoError(t, err)
	require.Equal(t, []bool{true, true}, probe.seen, "each broadcast's packets carry the server's burst")
	require.False(t, srv.burst.Active(), "the burst ends with the broadcast")
}
