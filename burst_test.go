package ferry

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// burstProbe is a MemoryAdapter that records, for each broadcast, whether
// the packet it hands out carries the server's burst and whether that
// burst counts the broadcast in progress.
type burstProbe struct {
	*MemoryAdapter
	server *Server
	seen   []bool
}

func (a *burstProbe) check(pkt *EncodedPacket) {
	shared := pkt.enginePackets()[0].Shared
	a.seen = append(a.seen, shared.Burst == &a.server.burst && a.server.burst.Active())
}

func (a *burstProbe) Broadcast(pkt *EncodedPacket, opts BroadcastOptions) {
	a.check(pkt)
	a.MemoryAdapter.Broadcast(pkt, opts)
}

func (a *burstProbe) BroadcastWithAck(pkt *EncodedPacket, opts BroadcastOptions, acks *AckCollector) {
	a.check(pkt)
	a.MemoryAdapter.BroadcastWithAck(pkt, opts, acks)
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
	require.Equal(t, []bool{true, true}, probe.seen, "each broadcast is handed out within the server's burst")
	require.False(t, srv.burst.Active(), "the burst ends with the broadcast")
}
