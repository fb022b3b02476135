package session

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/polling"
	"github.com/ferryio/ferry/transport"
)

// shortRelay is the relay timeout of the fault tests.
const shortRelay = 300 * time.Millisecond

// relayBound bounds how long after shortRelay a silence must be noticed:
// a check every shortRelay/4, and slack for a loaded machine.
const relayBound = shortRelay + 2*time.Second

func TestRelayOwnerSilent(t *testing.T) {
	t.Parallel()
	servers, net := newCluster(t, &Options{Relay: &RelayOptions{Timeout: shortRelay}}, 2)
	a, b := servers[0], servers[1]
	pc := a.connect(t, modePolling)
	a.via = b
	net.cut("N000")
	// The owner is gone without a word: the relaying engine answers as for
	// an unknown session once it has heard nothing for the timeout.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		start := time.Now()
		r := a.request(t, method, "EIO=4&transport=polling&sid="+pc.sid, "4x")
		took := time.Since(start)
		requireError(t, r, http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
		assert.GreaterOrEqual(t, took, shortRelay, method)
		assert.Less(t, took, relayBound, method)
	}
	start := time.Now()
	_, resp, err := a.dial(t, "EIO=4&transport=websocket&sid="+pc.sid, nil)
	require.Error(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Less(t, time.Since(start), relayBound)
}

func TestRelayOwnerClosed(t *testing.T) {
	t.Parallel()
	// A timeout no test waits for: an engine that closes says so.
	servers, _ := newCluster(t, &Options{Relay: &RelayOptions{Timeout: time.Hour}}, 2)
	a, b := servers[0], servers[1]
	pc := a.connect(t, modePolling)
	a.via = b
	parked := pc.parkGET(t)
	require.NoError(t, a.engine.Close())
	// The parked GET gets what a closing engine sends to its own clients.
	r := <-parked
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "1", r.body)
	requireError(t, pc.get(t), http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
	_, resp, err := a.dial(t, "EIO=4&transport=websocket&sid="+pc.sid, nil)
	require.Error(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestRelayRelaySilent(t *testing.T) {
	t.Parallel()
	opts := &Options{Relay: &RelayOptions{Timeout: shortRelay}}
	t.Run("parked GET", func(t *testing.T) {
		t.Parallel()
		servers, net := newCluster(t, opts, 2)
		a := servers[0]
		a.via = servers[1]
		c := a.connect(t, modePolling)
		parked := c.parkGET(t)
		start := time.Now()
		net.cut("N001")
		// The owner ends the transport as if the client had vanished.
		ce := waitClosed(t, c.sess)
		assert.Equal(t, ReasonTransportError, ce.Reason)
		require.ErrorIs(t, ce, polling.ErrGetAborted)
		assert.Less(t, time.Since(start), relayBound)
		a.via = nil
		<-parked
	})
	t.Run("WebSocket", func(t *testing.T) {
		t.Parallel()
		servers, net := newCluster(t, opts, 2)
		a := servers[0]
		a.via = servers[1]
		c := a.connect(t, modeUpgrade)
		start := time.Now()
		net.cut("N001")
		ce := waitClosed(t, c.sess)
		assert.Equal(t, ReasonTransportError, ce.Reason)
		require.ErrorIs(t, ce, errRelayLost)
		assert.Less(t, time.Since(start), relayBound)
	})
}

func TestRelayMessagesLost(t *testing.T) {
	t.Parallel()
	t.Run("WebSocket", func(t *testing.T) {
		t.Parallel()
		ts, net := newRelayedCluster(t, nil)
		c := ts.connect(t, modeUpgrade)
		dropped := make(chan struct{})
		net.setDrop(func(from, to string, m *relayMsg) bool {
			if m.Kind == kindDown && string(m.Pkts[0].Data) == "x" {
				close(dropped)
				return true
			}
			return false
		})
		require.NoError(t, c.sess.Send(transport.TextPacket("x")))
		<-dropped
		require.NoError(t, c.sess.Send(transport.TextPacket("y")))
		// The relaying engine sees the gap: the WebSocket closes before
		// anything after it is written, and the owner learns it.
		for _, p := range c.recvUntilClosed(t) {
			assert.NotEqual(t, "4y", string(transport.EncodePacket(p)), "a packet after a lost one was written")
		}
		ce := waitClosed(t, c.sess)
		assert.Equal(t, ReasonTransportError, ce.Reason)
		require.ErrorIs(t, ce, errRelayGap)
	})
	t.Run("GET", func(t *testing.T) {
		t.Parallel()
		ts, net := newRelayedCluster(t, &Options{Relay: &RelayOptions{Timeout: shortRelay}})
		c := ts.connect(t, modePolling)
		net.setDrop(func(from, to string, m *relayMsg) bool { return m.Kind == kindPollAnswer })
		parked := c.parkGET(t)
		require.NoError(t, c.sess.Send(transport.TextPacket("x")))
		// The answer is lost; the owner's next message shows the gap.
		r := <-parked
		requireError(t, r, http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
		ce := waitClosed(t, c.sess)
		assert.Equal(t, ReasonTransportError, ce.Reason)
		require.ErrorIs(t, ce, errRelayGap)
	})
}

// newRelayedCluster is newRelayedTestServer, with the network.
func newRelayedCluster(t *testing.T, opts *Options) (*testServer, *memNet) {
	servers, net := newCluster(t, opts, 2)
	servers[0].via = servers[1]
	return servers[0], net
}

func TestRelayFlowControlUp(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	got := make(chan string, 3*relayWindow)
	ts, _ := newRelayedCluster(t, &Options{OnConnection: func(s *Session) {
		s.OnMessage(func(p transport.Packet) {
			<-release
			got <- string(p.Data)
		})
	}})
	c := ts.connect(t, modeUpgrade)
	const n = 3 * relayWindow
	for i := range n {
		writeText(t, c.ws, fmt.Sprint("4", i))
	}
	// The relaying engine stops reading once relayWindow packets are
	// unacknowledged: the owner holds no more than that.
	b := ts.via.engine.relay.onlyBridge(t)
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.upSent-b.upAcked == relayWindow
	}, waitFor, time.Millisecond)
	rt := c.sess.current.(*remoteWS)
	queued := func() int {
		rt.mu.Lock()
		defer rt.mu.Unlock()
		return len(rt.in)
	}
	require.Eventually(t, func() bool { return queued() > relayWindow-4 }, waitFor, time.Millisecond,
		"the packets in flight do not reach the owner")
	assert.Less(t, queued(), relayWindow)
	close(release)
	for i := range n {
		select {
		case data := <-got:
			require.Equal(t, fmt.Sprint(i), data)
		case <-time.After(waitFor):
			t.Fatalf("message %d did not arrive", i)
		}
	}
}

// onlyBridge returns the one WebSocket rl relays.
func (rl *relayer) onlyBridge(t *testing.T) *bridge {
	t.Helper()
	rl.mu.Lock()
	defer rl.mu.Unlock()
	require.Len(t, rl.bridges, 1)
	for _, b := range rl.bridges {
		return b
	}
	return nil
}

// An engine that closes while it relays a parked GET releases it: the GET
// is answered with a noop and the session carries on through the others.
func TestRelayClosingEngineReleasesGETs(t *testing.T) {
	t.Parallel()
	for _, shutdown := range []bool{false, true} {
		t.Run(fmt.Sprint("shutdown=", shutdown), func(t *testing.T) {
			t.Parallel()
			servers, _ := newCluster(t, &Options{Relay: &RelayOptions{Timeout: time.Hour}}, 2)
			a, b := servers[0], servers[1]
			a.via = b
			c := a.connect(t, modePolling)
			parked := c.parkGET(t)
			if shutdown {
				require.NoError(t, b.engine.Shutdown(t.Context()))
			} else {
				require.NoError(t, b.engine.Close())
			}
			r := <-parked
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.Equal(t, "6", r.body)
			assert.Nil(t, c.sess.Err(), "the session is open")
			a.via = nil
			require.NoError(t, c.sess.Send(transport.TextPacket("on")))
			assert.Equal(t, transport.TextPacket("on"), c.recv(t))
		})
	}
}

// A relaying engine dies with the answer to a GET: the client's next GET,
// through another engine, gets nothing that followed the lost answer. The
// owner takes no packet while an answer is not known to have reached the
// client, and the session ends once the answer is found lost.
func TestRelayNothingAfterALostAnswer(t *testing.T) {
	t.Parallel()
	servers, net := newCluster(t, &Options{Relay: &RelayOptions{Timeout: shortRelay}}, 3)
	a, b, c := servers[0], servers[1], servers[2]
	a.via = b
	cl := a.connect(t, modePolling)
	parked := cl.parkGET(t)
	var dead atomic.Bool
	died := make(chan struct{})
	net.setDrop(func(from, to string, m *relayMsg) bool {
		if m.Kind == kindPollAnswer && to == "N001" && !dead.Load() {
			// The relaying engine dies as the answer comes.
			dead.Store(true)
			close(died)
		}
		return dead.Load() && (from == "N001" || to == "N001")
	})
	require.NoError(t, cl.sess.Send(transport.TextPacket("x")))
	<-died
	a.via = c
	require.NoError(t, cl.sess.Send(transport.TextPacket("y")))
	r := cl.get(t)
	require.Equal(t, http.StatusOK, r.status, r.body)
	assert.Equal(t, "1", r.body, "y must not arrive without x")
	ce := waitClosed(t, cl.sess)
	assert.Equal(t, ReasonTransportError, ce.Reason)
	require.ErrorIs(t, ce, errRelayLost)
	a.via = nil
	<-parked
}
