package session

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// memNet connects in-memory buses, one per engine: each delivers the
// messages sent to it in order, on a goroutine of its own. A test may
// drop messages, or cut a node off.
type memNet struct {
	mu    sync.Mutex
	buses map[string]*memBus // guarded by mu
	// drop, if set, decides whether a message is lost on the way. It is
	// guarded by mu.
	drop func(from, to string, m *relayMsg) bool
	sent atomic.Int64 // messages sent, for the tests' measures
}

func newMemNet() *memNet { return &memNet{buses: make(map[string]*memBus)} }

// bus returns a new bus on the network, with the node id node.
func (n *memNet) bus(node string) *memBus {
	b := &memBus{net: n, node: node, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	n.mu.Lock()
	n.buses[node] = b
	n.mu.Unlock()
	return b
}

// setDrop sets the function deciding which messages are lost.
func (n *memNet) setDrop(f func(from, to string, m *relayMsg) bool) {
	n.mu.Lock()
	n.drop = f
	n.mu.Unlock()
}

// cut makes node unreachable, and deaf: what it sends and what is sent to
// it is lost, as if its process had died.
func (n *memNet) cut(node string) {
	n.setDrop(func(from, to string, _ *relayMsg) bool { return from == node || to == node })
}

type memBus struct {
	net  *memNet
	node string
	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	queue   [][]byte         // guarded by mu
	receive func(msg []byte) // guarded by mu
	opened  bool             // guarded by mu
	closed  bool             // guarded by mu
}

func (b *memBus) Node() string { return b.node }

func (b *memBus) Open(receive func(msg []byte)) {
	b.mu.Lock()
	b.receive, b.opened = receive, true
	b.mu.Unlock()
	go b.run()
}

func (b *memBus) run() {
	defer close(b.done)
	for {
		b.mu.Lock()
		q := b.queue
		b.queue = nil
		f := b.receive
		b.mu.Unlock()
		for _, m := range q {
			f(m)
		}
		select {
		case <-b.wake:
		case <-b.stop:
			return
		}
	}
}

func (b *memBus) Send(node string, msg []byte) error {
	b.net.sent.Add(1)
	b.net.mu.Lock()
	to := b.net.buses[node]
	drop := b.net.drop
	b.net.mu.Unlock()
	if drop != nil {
		m, err := decodeMsg(msg)
		if err != nil {
			panic(err)
		}
		if drop(b.node, node, &m) {
			return nil
		}
	}
	if to == nil {
		return nil
	}
	to.mu.Lock()
	if to.closed {
		to.mu.Unlock()
		return nil
	}
	to.queue = append(to.queue, msg)
	to.mu.Unlock()
	select {
	case to.wake <- struct{}{}:
	default:
	}
	return nil
}

func (b *memBus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	opened := b.opened
	b.mu.Unlock()
	close(b.stop)
	if opened {
		<-b.done
	}
	return nil
}

// newCluster starts n engines configured by opts, with relays on one
// memNet, node ids "N000", "N001", ...
func newCluster(t testing.TB, opts *Options, n int) ([]*testServer, *memNet) {
	t.Helper()
	net := newMemNet()
	var servers []*testServer
	for i := range n {
		var o Options
		if opts != nil {
			o = *opts
		}
		ro := &RelayOptions{Bus: net.bus(fmt.Sprintf("N%03d", i))}
		if opts != nil && opts.Relay != nil {
			ro.Timeout = opts.Relay.Timeout
		}
		o.Relay = ro
		servers = append(servers, newTestServer(t, &o))
	}
	return servers, net
}

// newRelayedTestServer starts a cluster of two engines, and returns the
// first, whose clients send every request carrying a sid to the second.
func newRelayedTestServer(t testing.TB, opts *Options) *testServer {
	servers, _ := newCluster(t, opts, 2)
	servers[0].via = servers[1]
	return servers[0]
}

func TestRelaySessionIDs(t *testing.T) {
	t.Parallel()
	servers, _ := newCluster(t, nil, 2)
	for i, ts := range servers {
		for range 10 {
			c := ts.connect(t, modePolling)
			require.Len(t, c.sid, 20)
			assert.True(t, strings.HasPrefix(c.sid, fmt.Sprintf("N%03d", i)), c.sid)
			raw, err := base64.RawURLEncoding.DecodeString(c.sid[4:])
			require.NoError(t, err)
			assert.Len(t, raw, 12, "96 random bits")
		}
	}
}

func TestRelayUnknownSession(t *testing.T) {
	t.Parallel()
	servers, _ := newCluster(t, nil, 2)
	a, b := servers[0], servers[1]
	c := a.connect(t, modePolling)
	unknown := c.sid[:4] + strings.Repeat("A", 16)
	// The owner answers at once that it has no such session.
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		r := b.request(t, method, "EIO=4&transport=polling&sid="+unknown, "4x")
		requireError(t, r, http.StatusBadRequest, `{"code":1,"message":"Session ID unknown"}`)
	}
	_, resp, err := b.dial(t, "EIO=4&transport=websocket&sid="+unknown, nil)
	require.Error(t, err)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestRelayPollingThroughEveryEngine(t *testing.T) {
	t.Parallel()
	servers, _ := newCluster(t, nil, 3)
	c := servers[0].connect(t, modePolling)
	// Each request reaches the next engine, as behind a round-robin
	// balancer: numbered messages both ways, none lost, none repeated.
	for i := range 30 {
		c.ts.via = servers[i%3]
		if c.ts.via == servers[0] {
			c.ts.via = nil
		}
		c.send(t, transport.TextPacket(fmt.Sprint("up", i)))
		assert.Equal(t, transport.TextPacket(fmt.Sprint("up", i)), servers[0].nextMessage(t))
		require.NoError(t, c.sess.Send(transport.TextPacket(fmt.Sprint("down", i))))
		assert.Equal(t, transport.TextPacket(fmt.Sprint("down", i)), c.recv(t))
	}
}

func TestRelayUpgradeThroughAnotherEngine(t *testing.T) {
	t.Parallel()
	ts := newRelayedTestServer(t, nil)
	c := ts.connect(t, modePolling)
	require.NoError(t, c.sess.Send(transport.TextPacket("before")))
	assert.Equal(t, []string{"4before"}, wire(c.poll(t)...))

	parked := c.parkGET(t)
	conn, resp, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	assert.Equal(t, UpgradeEvent{Phase: UpgradeStarted, Transport: "websocket"}, ts.nextUpgrade(t))
	writeText(t, conn, "2probe")
	_, data := readFrame(t, conn)
	assert.Equal(t, "3probe", string(data))
	assert.Equal(t, "6", (<-parked).body)
	require.NoError(t, c.sess.Send(transport.TextPacket("during"), transport.BinaryPacket([]byte{7})))
	writeText(t, conn, "5")
	assert.Equal(t, UpgradeEvent{Phase: UpgradeDone, Transport: "websocket"}, ts.nextUpgrade(t))
	assert.Equal(t, transport.NameWebSocket, c.sess.Transport())
	_, data = readFrame(t, conn)
	assert.Equal(t, "4during", string(data))
	_, data = readFrame(t, conn)
	assert.Equal(t, []byte{7}, data)
	writeText(t, conn, "4after")
	assert.Equal(t, transport.TextPacket("after"), ts.nextMessage(t))

	// Polling requests for the sid are now a transport mismatch, wherever
	// they arrive.
	requireError(t, c.get(t), http.StatusBadRequest, `{"code":3,"message":"Bad request"}`)
}
