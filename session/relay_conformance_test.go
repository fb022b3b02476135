package session

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/polling"
	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/transport/transporttest"
)

// relayPair starts two engines on one memNet: the owner, and the relay,
// served on an httptest server whose handler runs before each request.
func relayPair(t *testing.T, before func(r *http.Request)) (owner, relay *Engine, url string) {
	t.Helper()
	net := newMemNet()
	quiet := slog.New(slog.DiscardHandler)
	owner = NewEngine(&Options{Logger: quiet, Relay: &RelayOptions{Bus: net.bus("OWNR")}})
	relay = NewEngine(&Options{Logger: quiet, Relay: &RelayOptions{Bus: net.bus("RLAY")}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil {
			before(r)
		}
		relay.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		owner.Close()
		relay.Close()
		srv.Close()
	})
	return owner, relay, srv.URL + relay.Path()
}

// TestRelayConformancePolling runs the transport conformance suite on a
// polling transport whose client's requests all reach another engine.
func TestRelayConformancePolling(t *testing.T) {
	transporttest.Run(t, func(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
		var peer atomic.Pointer[transporttest.PollingPeer]
		owner, _, url := relayPair(t, func(r *http.Request) {
			if p := peer.Load(); p != nil {
				p.Arrived(r)
			}
		})
		// A session of the owner's whose polling transport is bound to s.
		sess := newSession(owner, owner.relay.newSID(), httptest.NewRequest(http.MethodGet, "/", nil))
		tr := polling.New(owner.polling, s)
		sess.current = tr
		require.True(t, owner.registry.add(sess))
		p := transporttest.NewPollingPeer(url + "?EIO=4&transport=polling&sid=" + sess.id)
		peer.Store(p)
		return tr, p
	})
}

// TestRelayConformanceWebSocket runs the transport conformance suite on the
// owner's side of a WebSocket that reached another engine.
func TestRelayConformanceWebSocket(t *testing.T) {
	transporttest.Run(t, func(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
		owner, _, url := relayPair(t, nil)
		made := make(chan *remoteWS, 1)
		owner.relay.testHookOpen = func(rt *remoteWS) transport.Session {
			made <- rt
			return s
		}
		d := gorilla.Dialer{HandshakeTimeout: waitFor}
		sid := owner.relay.newSID()
		conn, _, err := d.Dial("ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket&sid="+sid, nil)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		conn.SetReadDeadline(time.Now().Add(transporttest.Timeout))
		select {
		case rt := <-made:
			return rt, &transporttest.WebSocketPeer{Conn: conn}
		case <-time.After(waitFor):
			t.Fatal("the owner did not serve the WebSocket")
			return nil, nil
		}
	})
}
