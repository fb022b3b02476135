package ferry

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// TestDynamicNamespacesMemory sends 100,000 CONNECTs to distinct dynamic
// names over one WebSocket, through the server's real connect path, and
// checks that the server keeps no namespace for them and its heap does not
// grow: each one the middleware refuses, or whose socket joins and leaves
// again with CleanupEmptyChildNamespaces set, is removed. Before, each left
// a namespace and its adapter behind (some hundreds of bytes apiece).
//
// It is an internal test to count the server's namespaces; one connection
// joining many namespaces is the cheapest way to go through that path many
// times.
func TestDynamicNamespacesMemory(t *testing.T) {
	const n = 100_000
	for _, tc := range []struct {
		name   string
		refuse bool
	}{{"refused", true}, {"departed", false}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := NewServer(&Options{
				CleanupEmptyChildNamespaces: !tc.refuse,
				Logger:                      slog.New(slog.DiscardHandler),
				PingInterval:                time.Hour, // no pings to answer
				PingTimeout:                 time.Hour,
			})
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			t.Cleanup(func() { srv.Close() })
			parent := srv.OfRegexp(regexp.MustCompile(`^/game-\d+$`))
			if tc.refuse {
				parent.Use(func(*Socket) error { return &ConnectError{Message: "full"} })
			}

			c := dialChurn(t, hs.URL, tc.refuse)
			c.run(t, 1000) // warm up: pools, buffers, maps at their working size
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			baseline := countNamespaces(srv)

			c.run(t, n)
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)

			require.Equal(t, baseline, countNamespaces(srv), "no namespace is kept")
			require.Empty(t, parent.targets(), "the parent has no children left")
			growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("heap: %d bytes before, %d after (%+d) for %d connections", before.HeapAlloc, after.HeapAlloc, growth, n)
			// A namespace kept for each would be well over 100 bytes apiece:
			// allow a twentieth of that.
			require.Less(t, growth, int64(n*5), "the heap stays flat")
		})
	}
}

func countNamespaces(s *Server) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.namespaces)
}

// churnClient is a bare WebSocket client sending CONNECTs to /game-<i>
// (each followed by a DISCONNECT when they are accepted), and reading the
// replies on another goroutine.
type churnClient struct {
	ws      *gorilla.Conn
	refuse  bool
	next    int
	replies chan parser.Type
}

func dialChurn(t *testing.T, base string, refuse bool) *churnClient {
	u := "ws" + strings.TrimPrefix(base, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, resp, err := gorilla.DefaultDialer.Dial(u, nil)
	require.NoError(t, err)
	resp.Body.Close()
	_, open, err := ws.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, byte('0'), open[0], "open packet")
	c := &churnClient{ws: ws, refuse: refuse, replies: make(chan parser.Type, 1024)}
	done := make(chan struct{})
	go c.read(done)
	t.Cleanup(func() {
		ws.Close()
		<-done
	})
	return c
}

func (c *churnClient) read(done chan<- struct{}) {
	defer close(done)
	defer close(c.replies)
	dec := parser.Msgpack().NewDecoder()
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		p, err := transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
		if err != nil || p.Type != transport.Message {
			continue
		}
		msg, err := dec.Decode(p.Data, p.Binary)
		if err != nil {
			return
		}
		c.replies <- msg.Type
	}
}

// run joins count new names, keeping at most a window of replies pending.
func (c *churnClient) run(t *testing.T, count int) {
	const window = 256
	codec := parser.Msgpack()
	write := func(typ parser.Type, nsp string) {
		frames, err := codec.Encode(&parser.Packet{Type: typ, Namespace: nsp})
		require.NoError(t, err)
		require.NoError(t, c.ws.WriteMessage(gorilla.BinaryMessage, frames[0].Data))
	}
	want := parser.Connect
	if c.refuse {
		want = parser.ConnectError
	}
	sent, got := 0, 0
	lost := time.NewTimer(within) // reset by each reply
	defer lost.Stop()
	for got < count {
		if sent < count && sent-got < window {
			name := fmt.Sprintf("/game-%d", c.next)
			c.next++
			write(parser.Connect, name)
			if !c.refuse {
				write(parser.Disconnect, name)
			}
			sent++
			continue
		}
		select {
		case typ, ok := <-c.replies:
			require.True(t, ok, "connection closed after %d replies", got)
			require.Equal(t, want, typ)
			got++
			lost.Reset(within)
		case <-lost.C:
			t.Fatalf("no reply for %v: %d of %d replies", within, got, count)
		}
	}
}

// within bounds the waits of this file's tests.
const within = 10 * time.Second
