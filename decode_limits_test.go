package ferry_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
)

// attackFrame returns the packet for codec as one WebSocket message
// just under the default MaxHTTPBufferSize: a msgpack EVENT of 990,000 nil
// arguments, or a JSON one of 495,000 zeros.
func attackFrame(codec parser.Codec) (messageType int, data []byte) {
	if codec.Name() == "json" {
		return gorilla.TextMessage, []byte(`42["e"` + strings.Repeat(",0", 495_000) + `]`)
	}
	const n = 990_000
	b := []byte("\x83\xa4type\x02\xa3nsp\xa1/\xa4data\xdd")
	b = binary.BigEndian.AppendUint32(b, n+1) // the name and the arguments
	b = append(b, 0xa1, 'e')
	return gorilla.BinaryMessage, append(b, bytes.Repeat([]byte{0xc0}, n)...)
}

// heapPeak samples the heap until stop is closed, and then sends the
// largest HeapInuse and HeapAlloc it saw.
func heapPeak(stop <-chan struct{}) <-chan [2]uint64 {
	out := make(chan [2]uint64, 1)
	go func() {
		var peak [2]uint64
		var ms runtime.MemStats
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak[0], peak[1] = max(peak[0], ms.HeapInuse), max(peak[1], ms.HeapAlloc)
			select {
			case <-stop:
				out <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return out
}

// closedBy reads ws until the server closes it, and reports whether it did
// before deadline.
func closedBy(ws *gorilla.Conn, deadline time.Time) bool {
	ws.SetReadDeadline(deadline)
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ne net.Error
			return !errors.As(err, &ne) || !ne.Timeout()
		}
	}
}

// TestDecodeLimitsUnderAttack sends the 1 MB packets (990,000
// arguments) over twenty connections, five each, to a server with default
// options. The decoder refuses each packet before building it, so the heap
// stays far below what holding them would take (33 MB a packet before the
// limits); each attacking connection closes with "parse error"; a
// well-behaved client on the same server keeps getting its acks.
//
// Not parallel: it samples the process's heap.
func TestDecodeLimitsUnderAttack(t *testing.T) {
	const (
		connections = 20
		packets     = 5
		heapBound   = 100 << 20
	)
	for _, codec := range []parser.Codec{parser.Msgpack(), parser.JSON()} {
		t.Run(codec.Name(), func(t *testing.T) {
			m := mode{name: "websocket", transports: []string{"websocket"}, codec: codec}
			ts := m.serve(t, nil)
			type gone struct{ id, reason string }
			disconnects := make(chan gone, 2*connections)
			ts.Of("/").OnConnection(func(s *ferry.Socket) {
				s.On("ping", func(e *ferry.Event) { e.Ack("pong") })
				s.OnDisconnect(func(s *ferry.Socket, why ferry.DisconnectReason) {
					disconnects <- gone{s.ID(), why.String()}
				})
			})

			neighbour := ts.connect(t, "/", nil)
			attackers := make([]*rawClient, connections)
			for i := range attackers {
				attackers[i] = ts.dialRaw(t, "websocket")
				require.Equal(t, parser.Connect, attackers[i].join("/", nil).Type)
				attackers[i].pong = false // only the attack writes to the connection
			}
			mt, attack := attackFrame(codec)
			require.Less(t, len(attack), 1_000_000)

			// The neighbour emits and waits for its ack, over and over,
			// until the attack is over.
			attackOver := make(chan struct{})
			neighbourDone := make(chan error, 1)
			roundTrips := 0
			go func() {
				for {
					ctx, cancel := context.WithTimeout(context.Background(), within)
					reply, err := neighbour.EmitWithAck(ctx, "ping")
					cancel()
					if err == nil && len(reply) != 1 {
						err = fmt.Errorf("an ack of %d arguments", len(reply))
					}
					if err != nil {
						neighbourDone <- err
						return
					}
					roundTrips++
					select {
					case <-attackOver:
						neighbourDone <- nil
						return
					default:
					}
				}
			}()

			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			stopSampling := make(chan struct{})
			peak := heapPeak(stopSampling)

			var writers sync.WaitGroup
			for _, r := range attackers {
				writers.Go(func() {
					// Writes fail once the server has closed the
					// connection, which is what the test expects.
					r.ws.SetWriteDeadline(time.Now().Add(within))
					for range packets {
						if r.ws.WriteMessage(mt, attack) != nil {
							return
						}
					}
				})
			}
			closed := make(chan bool, connections)
			deadline := time.Now().Add(within)
			for _, r := range attackers {
				go func() { closed <- closedBy(r.ws, deadline) }()
			}
			closedCount := 0
			for range connections {
				if <-closed {
					closedCount++
				}
			}
			writers.Wait()
			close(stopSampling)
			p := <-peak
			close(attackOver)
			require.NoError(t, <-neighbourDone, "the neighbour's acks")

			t.Logf("%d round trips by the neighbour; heap in use %.1f MB before, peak %.1f MB in use, %.1f MB allocated",
				roundTrips, float64(before.HeapInuse)/(1<<20), float64(p[0])/(1<<20), float64(p[1])/(1<<20))
			assert.Less(t, p[0], uint64(heapBound), "peak HeapInuse")
			assert.Less(t, p[1], uint64(heapBound), "peak HeapAlloc")
			require.Equal(t, connections, closedCount, "attacking connections closed by the server")

			for range connections {
				d := recv(t, disconnects)
				assert.NotEqual(t, neighbour.ID(), d.id)
				assert.Equal(t, "parse error", d.reason)
			}
			reply, err := neighbour.EmitWithAck(bounded(t), "ping")
			require.NoError(t, err)
			assert.Equal(t, "pong", decodeRaw[string](t, reply[0]))
		})
	}
}

func TestDecodeLimitsOption(t *testing.T) {
	// Options.DecodeLimits replaces the parser's defaults: a packet beyond
	// them disconnects its client with "parse error"; one within passes.
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, &ferry.Options{DecodeLimits: parser.Limits{MaxArgs: 3}})
		joined := sockets(ts.Of("/"))
		got := make(chan int, 1)
		ts.OnConnection(func(s *ferry.Socket) {
			s.On("n", func(e *ferry.Event) { got <- len(e.Args) })
		})
		cs := ts.connect(t, "/", nil)
		s := recv(t, joined)
		why := make(reasons, 1)
		why.watch(s)
		require.NoError(t, cs.Emit("n", 1, 2, 3))
		require.Equal(t, 3, recv(t, got))
		require.NoError(t, cs.Emit("n", 1, 2, 3, 4))
		require.Equal(t, "parse error", recv(t, why))
	})
}
