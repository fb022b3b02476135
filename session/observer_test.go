package session

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// traffic is what an Observer heard of packets on one transport, one way.
type traffic struct{ packets, bytes int }

// closedEvent is one call of Observer.Closed.
type closedEvent struct {
	transport string
	reason    CloseReason
}

// recorder keeps every event its Observer hears of.
type recorder struct {
	mu       sync.Mutex
	opened   []string           // guarded by mu
	closed   []closedEvent      // guarded by mu
	upgrades []UpgradePhase     // guarded by mu
	aborts   []error            // guarded by mu: the Err of aborted upgrades
	refused  []Refusal          // guarded by mu
	in, out  map[string]traffic // guarded by mu: by transport
}

// observer returns an Observer recording into r; with partial, only some
// of its fields are set (the others stay nil).
func (r *recorder) observer(partial bool) *Observer {
	r.in, r.out = make(map[string]traffic), make(map[string]traffic)
	o := &Observer{
		Closed: func(name string, reason CloseReason) {
			r.mu.Lock()
			r.closed = append(r.closed, closedEvent{name, reason})
			r.mu.Unlock()
		},
		PacketsIn: func(name string, packets, bytes int) {
			r.mu.Lock()
			r.in[name] = traffic{r.in[name].packets + packets, r.in[name].bytes + bytes}
			r.mu.Unlock()
		},
	}
	if partial {
		return o
	}
	o.Opened = func(name string) {
		r.mu.Lock()
		r.opened = append(r.opened, name)
		r.mu.Unlock()
	}
	o.Upgrade = func(e UpgradeEvent) {
		r.mu.Lock()
		r.upgrades = append(r.upgrades, e.Phase)
		if e.Phase == UpgradeAborted {
			r.aborts = append(r.aborts, e.Err)
		}
		r.mu.Unlock()
	}
	o.Refused = func(cause Refusal) {
		r.mu.Lock()
		r.refused = append(r.refused, cause)
		r.mu.Unlock()
	}
	o.PacketsOut = func(name string, packets, bytes int) {
		r.mu.Lock()
		r.out[name] = traffic{r.out[name].packets + packets, r.out[name].bytes + bytes}
		r.mu.Unlock()
	}
	return o
}

// traffic returns the packets heard of so far, in and out, by transport.
func (r *recorder) traffic() (in, out map[string]traffic) {
	r.mu.Lock()
	defer r.mu.Unlock()
	in, out = make(map[string]traffic), make(map[string]traffic)
	for k, v := range r.in {
		in[k] = v
	}
	for k, v := range r.out {
		out[k] = v
	}
	return in, out
}

func (r *recorder) upgradePhases() []UpgradePhase {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]UpgradePhase(nil), r.upgrades...)
}

func (r *recorder) closedEvents() []closedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]closedEvent(nil), r.closed...)
}

func (r *recorder) refusals() []Refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Refusal(nil), r.refused...)
}

func TestObserverSessionTraffic(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{modePolling, modeWebSocket, modeUpgrade} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			var rec recorder
			ts := newTestServer(t, &Options{Observer: rec.observer(false)})
			c := ts.connect(t, mode)
			name := transport.NameWebSocket
			opened := transport.NamePolling
			switch mode {
			case modePolling:
				name = transport.NamePolling
			case modeWebSocket:
				opened = transport.NameWebSocket
			}
			rec.mu.Lock()
			assert.Equal(t, []string{opened}, rec.opened)
			rec.mu.Unlock()

			in, out := rec.traffic()
			switch mode {
			case modeUpgrade:
				// "2probe" and "5" in, "3probe" out on the WebSocket; the
				// open packet and the noop that released the long-poll out
				// on long-polling.
				require.Eventually(t, func() bool {
					return len(rec.upgradePhases()) == 2
				}, waitFor, time.Millisecond)
				assert.Equal(t, []UpgradePhase{UpgradeStarted, UpgradeDone}, rec.upgradePhases())
				assert.Equal(t, map[string]traffic{transport.NameWebSocket: {2, 7}}, in)
				assert.Equal(t, traffic{1, 6}, out[transport.NameWebSocket])
				assert.Equal(t, 2, out[transport.NamePolling].packets)
			default:
				// The open packet only.
				assert.Empty(t, in)
				assert.Equal(t, 1, out[name].packets)
				assert.Empty(t, rec.upgradePhases())
			}
			assert.Greater(t, out[opened].bytes, 100, "the open packet's JSON")

			// Two packets in: "4hello" (6 bytes), and 3 binary bytes: raw on
			// a WebSocket, "b" and 4 of base64 on long-polling.
			binSize := 3
			if name == transport.NamePolling {
				binSize = 5
			}
			c.send(t, transport.TextPacket("hello"), transport.BinaryPacket([]byte{1, 2, 3}))
			ts.nextMessage(t)
			ts.nextMessage(t)
			in2, _ := rec.traffic()
			assert.Equal(t, traffic{in[name].packets + 2, in[name].bytes + 6 + binSize}, in2[name])

			// One out: "4world".
			require.NoError(t, c.sess.Send(transport.TextPacket("world")))
			assert.Equal(t, transport.TextPacket("world"), c.recv(t))
			_, out2 := rec.traffic()
			assert.Equal(t, traffic{out[name].packets + 1, out[name].bytes + 6}, out2[name])

			// A session closed by the application is reported with the
			// transport it ended on, once its close packet is written.
			assert.Empty(t, rec.closedEvents())
			require.NoError(t, c.sess.Close())
			c.recvUntilClosed(t)
			waitClosed(t, c.sess)
			assert.Equal(t, []closedEvent{{name, ReasonForcedClose}}, rec.closedEvents())
		})
	}
}

func TestObserverPartial(t *testing.T) {
	t.Parallel()
	// Fields left nil are not called; the others are.
	var rec recorder
	ts := newTestServer(t, &Options{Observer: rec.observer(true)})
	c := ts.connect(t, modeUpgrade)
	c.send(t, transport.TextPacket("x"))
	ts.nextMessage(t)
	require.NoError(t, c.sess.Send(transport.TextPacket("y")))
	c.recv(t)
	ts.request(t, http.MethodGet, "EIO=3&transport=polling", "")
	c.ws.Close()
	waitClosed(t, c.sess)
	in, _ := rec.traffic()
	assert.Equal(t, traffic{3, 9}, in[transport.NameWebSocket])
	assert.Equal(t, []closedEvent{{transport.NameWebSocket, ReasonTransportClose}}, rec.closedEvents())
}

func TestObserverQueueFull(t *testing.T) {
	t.Parallel()
	var rec recorder
	ts := newTestServer(t, &Options{MaxQueuedPackets: 2, Observer: rec.observer(false)})
	c := ts.connect(t, modePolling)
	require.ErrorIs(t, c.sess.Send(transport.TextPacket("a"), transport.TextPacket("b"), transport.TextPacket("c")), ErrQueueFull)
	waitClosed(t, c.sess)
	assert.Equal(t, []closedEvent{{transport.NamePolling, ReasonQueueFull}}, rec.closedEvents())
}

func TestObserverUpgradeAborted(t *testing.T) {
	t.Parallel()
	var rec recorder
	ts := newTestServer(t, &Options{Observer: rec.observer(false)})
	c := ts.connect(t, modePolling)
	conn, _, err := ts.dial(t, "EIO=4&transport=websocket&sid="+c.sid, nil)
	require.NoError(t, err)
	assert.Equal(t, UpgradeStarted, ts.nextUpgrade(t).Phase)
	writeText(t, conn, "4hello")
	requireClosedConn(t, conn)
	assert.Equal(t, UpgradeAborted, ts.nextUpgrade(t).Phase)
	assert.Equal(t, []UpgradePhase{UpgradeStarted, UpgradeAborted}, rec.upgradePhases())
	rec.mu.Lock()
	require.Len(t, rec.aborts, 1)
	assert.ErrorIs(t, rec.aborts[0], transport.ErrUnexpectedPacket)
	rec.mu.Unlock()

	// The session stays on long-polling, and ends there.
	c.ts.engine.Close()
	waitClosed(t, c.sess)
	assert.Equal(t, []closedEvent{{transport.NamePolling, ReasonServerShuttingDown}}, rec.closedEvents())
}

func TestObserverRefused(t *testing.T) {
	t.Parallel()
	var rec recorder
	ts := newTestServer(t, &Options{
		Observer: rec.observer(false),
		AllowRequest: func(r *http.Request) error {
			if r.Header.Get("X-Refuse") != "" {
				return errors.New("refused")
			}
			return nil
		},
	})
	live := ts.connect(t, modePolling)
	up := ts.connect(t, modeUpgrade)
	for _, tc := range []struct {
		method, query string
		header        []string
		want          Refusal
	}{
		{"GET", "EIO=4&transport=carrier-pigeon", nil, RefusedUnknownTransport},
		{"GET", "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA", nil, RefusedUnknownSID},
		{"POST", "EIO=4&transport=polling", nil, RefusedBadHandshakeMethod},
		{"GET", "EIO=4&transport=websocket", nil, RefusedBadRequest},
		{"GET", "EIO=4&transport=polling&sid=" + up.sid, nil, RefusedBadRequest},
		// A WebSocket request gorilla/websocket refuses (no key).
		{"GET", "EIO=4&transport=websocket", []string{"Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Version", "13"}, RefusedBadRequest},
		{"GET", "EIO=4&transport=websocket&sid=" + live.sid, []string{"Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Version", "13"}, RefusedBadRequest},
		{"GET", "EIO=4&transport=polling", []string{"Origin", "https://evil.example"}, RefusedOrigin},
		{"GET", "EIO=4&transport=polling", []string{"X-Refuse", "1"}, RefusedByAllowRequest},
		{"GET", "EIO=3&transport=polling", nil, RefusedUnsupportedVersion},
	} {
		before := len(rec.refusals())
		r := ts.request(t, tc.method, tc.query, "", tc.header...)
		require.GreaterOrEqual(t, r.status, 400, "%s %s", tc.method, tc.query)
		assert.Equal(t, append(rec.refusals()[:before:before], tc.want), rec.refusals(), "%s %s %v", tc.method, tc.query, tc.header)
	}
	ts.engine.Close()
	r := ts.request(t, http.MethodGet, "EIO=4&transport=polling", "")
	require.Equal(t, http.StatusServiceUnavailable, r.status)
	refused := rec.refusals()
	assert.Equal(t, RefusedServerClosed, refused[len(refused)-1])

	// Every cause has a name.
	for c := RefusedUnknownTransport; c <= RefusedServerClosed; c++ {
		assert.NotContains(t, c.String(), "?")
	}
	assert.Equal(t, "Refusal(?)", Refusal(0).String())
}
