package session

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// fakePeer is another node on a memNet, driven by the test: it sends
// relay messages by hand and records those it receives.
type fakePeer struct {
	t    *testing.T
	bus  *memBus
	seq  uint64
	got  chan relayMsg
	junk []byte
}

func newFakePeer(t *testing.T, net *memNet, node string) *fakePeer {
	p := &fakePeer{t: t, bus: net.bus(node), got: make(chan relayMsg, 4096)}
	p.bus.Open(func(b []byte) {
		m, err := decodeMsg(b)
		if err != nil {
			panic(err)
		}
		p.got <- m
	})
	t.Cleanup(func() { p.bus.Close() })
	return p
}

// send sends m to node, numbered as an engine would.
func (p *fakePeer) send(node string, m relayMsg) {
	p.seq++
	m.From, m.Seq = p.bus.node, p.seq
	require.NoError(p.t, p.bus.Send(node, encodeMsg(&m)))
}

// next returns the next message of kind, skipping alive messages.
func (p *fakePeer) next(kind msgKind) relayMsg {
	p.t.Helper()
	for {
		select {
		case m := <-p.got:
			if m.Kind == kindAlive {
				continue
			}
			require.Equal(p.t, kind, m.Kind, "%+v", m)
			return m
		case <-time.After(waitFor):
			p.t.Fatalf("no message of kind %d", kind)
		}
	}
}

// downs returns the packets of the Down messages received until none
// comes for a while, skipping alive messages.
func (p *fakePeer) downs(quiet time.Duration) []transport.Packet {
	var pkts []transport.Packet
	for {
		select {
		case m := <-p.got:
			if m.Kind == kindDown {
				pkts = append(pkts, m.Pkts...)
			}
		case <-time.After(quiet):
			return pkts
		}
	}
}

func TestRelayFlowControlDown(t *testing.T) {
	t.Parallel()
	servers, net := newCluster(t, nil, 1)
	a := servers[0]
	c := a.connect(t, modePolling)
	peer := newFakePeer(t, net, "PEER")
	// A WebSocket reaches the peer, which relays it: probe and upgrade.
	peer.send("N000", relayMsg{Kind: kindOpen, ID: 1, SID: c.sid})
	assert.Equal(t, statusProbe, peer.next(kindOpenAnswer).Status)
	peer.send("N000", relayMsg{Kind: kindUp, ID: 1, Pkts: []transport.Packet{{Type: transport.Ping, Data: []byte("probe")}}})
	assert.Equal(t, []string{"3probe"}, wire(peer.next(kindDown).Pkts...))
	peer.send("N000", relayMsg{Kind: kindUp, ID: 1, Pkts: []transport.Packet{{Type: transport.Upgrade, Data: []byte{}}}})
	require.Eventually(t, func() bool { return c.sess.Transport() == transport.NameWebSocket }, waitFor, time.Millisecond)

	const n = 3 * relayWindow
	for i := range n {
		require.NoError(t, c.sess.Send(transport.TextPacket(fmt.Sprint(i))))
	}
	// The owner sends one window (3probe included), then waits for the
	// peer to say the packets were taken.
	got := peer.downs(100 * time.Millisecond)
	require.Len(t, got, relayWindow-1)
	peer.send("N000", relayMsg{Kind: kindUpAck, ID: 1, Ack: relayAckEvery})
	got = append(got, peer.downs(100*time.Millisecond)...)
	require.Len(t, got, relayWindow-1+relayAckEvery)
	peer.send("N000", relayMsg{Kind: kindUpAck, ID: 1, Ack: 1 + n})
	got = append(got, peer.downs(100*time.Millisecond)...)
	require.Len(t, got, n)
	for i, p := range got {
		require.Equal(t, fmt.Sprint(i), string(p.Data))
	}
}

func TestRelayIgnoresMalformedMessages(t *testing.T) {
	t.Parallel()
	servers, net := newCluster(t, &Options{Logger: slog.New(slog.DiscardHandler)}, 1)
	a := servers[0]
	c := a.connect(t, modePolling)
	peer := newFakePeer(t, net, "PEER")
	require.NoError(t, peer.bus.Send("N000", []byte("not a message")))
	require.NoError(t, peer.bus.Send("N000", encodeMsg(&relayMsg{Kind: kindPoll, From: "N000", Seq: 1, SID: c.sid})))
	require.NoError(t, peer.bus.Send("N000", encodeMsg(&relayMsg{Kind: kindPoll, From: "bad!", Seq: 1, SID: c.sid})))
	// The engine goes on serving the peer's requests.
	require.NoError(t, c.sess.Send(transport.TextPacket("x")))
	peer.send("N000", relayMsg{Kind: kindPoll, ID: 5, SID: c.sid})
	m := peer.next(kindPollAnswer)
	assert.Equal(t, uint64(5), m.ID)
	assert.Equal(t, []string{"4x"}, wire(m.Pkts...))
	peer.send("N000", relayMsg{Kind: kindPollWritten, ID: 5})
	assert.Nil(t, c.sess.Err())
}
