package ferry_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/ferryio/ferry/parser"
)

// recoveryJSApp is the server side of
// internal/nodetest/node/recovery-client.mjs: an interruptible server with
// connection state recovery on, whose events let the script send to rooms
// and to one socket, and shut and open the gate.
type recoveryJSApp struct {
	mu      sync.Mutex
	sockets map[string]*ferry.Socket // guarded by mu: the newest socket of each id, kept after it disconnects
	reasons []string                 // guarded by mu: the disconnect reasons, in order
}

func newRecoveryJSServer(t *testing.T, codec parser.Codec, recovery *ferry.RecoveryOptions) (*interruptible, *recoveryJSApp) {
	m := mode{codec: codec}
	it := m.serveInterruptible(t, nil, recovery)
	app := &recoveryJSApp{sockets: make(map[string]*ferry.Socket)}
	it.OnConnection(func(s *ferry.Socket) {
		app.mu.Lock()
		app.sockets[s.ID()] = s
		app.mu.Unlock()
		s.OnDisconnect(func(_ *ferry.Socket, r ferry.DisconnectReason) {
			app.mu.Lock()
			app.reasons = append(app.reasons, r.String())
			app.mu.Unlock()
		})
		ferry.HandleAck(s, "join", func(s *ferry.Socket, room string) (bool, error) {
			s.Join(room)
			return true, nil
		})
		ferry.HandleAck(s, "to-room", func(s *ferry.Socket, m struct {
			Room string `json:"room"`
			Text string `json:"text"`
		}) (bool, error) {
			return true, it.To(m.Room).Emit("msg", m.Text)
		})
		// direct sends with Socket.Emit on the socket of that id, which
		// may have lost its connection.
		ferry.HandleAck(s, "direct", func(_ *ferry.Socket, m struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		}) (bool, error) {
			app.mu.Lock()
			target := app.sockets[m.ID]
			app.mu.Unlock()
			if target == nil {
				return false, nil
			}
			return true, target.Emit("msg", m.Text)
		})
		// gone answers once the socket of that id has disconnected, and so
		// its session is kept (or false after a few seconds).
		s.On("gone", func(e *ferry.Event) {
			var id string
			if e.Decode(&id) != nil {
				return
			}
			app.mu.Lock()
			target := app.sockets[id]
			app.mu.Unlock()
			if target == nil {
				e.Ack(false)
				return
			}
			go func() {
				timer := time.NewTimer(5 * time.Second)
				defer timer.Stop()
				select {
				case <-target.Context().Done():
					e.Ack(true)
				case <-timer.C:
					e.Ack(false)
				}
			}()
		})
		s.On("shut", func(e *ferry.Event) {
			it.shut.Store(true)
			e.Ack(true)
		})
		s.On("open", func(e *ferry.Event) {
			it.shut.Store(false)
			e.Ack(true)
		})
		// drop closes the caller's connection ("forced close") with the
		// gate shut, so that it cannot come back before "open".
		s.On("drop", func(e *ferry.Event) {
			it.shut.Store(true)
			s.Conn().Close()
		})
		s.On("recovered", func(e *ferry.Event) { e.Ack(s.Recovered()) })
	})
	return it, app
}

// TestRecoverySocketIOClient runs socket.io-client 4.8 (both parsers, over
// long-polling, WebSocket, and polling upgraded to WebSocket) against a
// Ferry server with recovery on (recovery-client.mjs): a client that
// received events loses its connection, by a forced close from the server
// or by closing its Engine.IO connection itself, while another client sends
// to a room it is in and to it alone (Socket.Emit). It reconnects with
// socket.recovered true, the same socket.id, and every missed event once,
// in order. Ferry also recovers a client that received no event before the
// drop (socket.io does not), and a client that missed more than
// MaxMissedPackets gets a fresh connection (recovered false, a new id).
func TestRecoverySocketIOClient(t *testing.T) {
	nodetest.Require(t)
	scenarios := []struct {
		name     string
		recovery *ferry.RecoveryOptions
		reasons  []string // the server's disconnect reasons for the client
	}{
		{"forced-close", nil, []string{"forced close"}},
		{"engine-close", nil, []string{"transport close"}},
		{"no-event", nil, []string{"forced close"}},
		{"too-many", &ferry.RecoveryOptions{MaxMissedPackets: 3}, []string{"forced close"}},
	}
	for _, codec := range []parser.Codec{parser.Msgpack(), parser.JSON()} {
		for _, transports := range []string{"polling", "websocket", "upgrade"} {
			for _, sc := range scenarios {
				t.Run(codec.Name()+"/"+transports+"/"+sc.name, func(t *testing.T) {
					t.Parallel()
					it, app := newRecoveryJSServer(t, codec, sc.recovery)
					out := nodetest.Run(t, 60*time.Second, "recovery-client.mjs", []string{it.URL, codec.Name(), transports, sc.name})
					t.Logf("recovery-client.mjs:\n%s", out)
					require.Contains(t, out, "all checks passed")
					app.mu.Lock()
					defer app.mu.Unlock()
					// The first reason is the dropped client's; the rest
					// come from the script's clients closing at the end.
					require.NotEmpty(t, app.reasons)
					require.Equal(t, sc.reasons, app.reasons[:1], "all reasons: %s", strings.Join(app.reasons, ", "))
				})
			}
		}
	}
}
