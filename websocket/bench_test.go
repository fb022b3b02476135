package websocket

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/transport"
)

// queueSession is a transport.Session that only queues: what is sent to
// it is taken by its transport's writer.
type queueSession struct {
	mu    sync.Mutex
	queue []transport.Packet // guarded by mu
}

func (s *queueSession) send(tr *Transport, pkts ...transport.Packet) {
	s.mu.Lock()
	s.queue = append(s.queue, pkts...)
	s.mu.Unlock()
	tr.Wake()
}

func (s *queueSession) Take(transport.Transport) ([]transport.Packet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pkts := s.queue
	s.queue = nil
	return pkts, false
}

func (s *queueSession) Deliver(transport.Transport, transport.Packet) error { return nil }
func (s *queueSession) TransportClosed(transport.Transport, error)          {}

// BenchmarkBroadcastWrite measures the write path of a broadcast to 100
// WebSocket connections over loopback TCP: each operation queues one
// broadcast packet (framed once, see transport.FrameCache) to every
// connection's session and wakes its transport, as a server's broadcast
// does, then waits until every client has read the frame. The clients read
// raw bytes, without decoding. Variant burst20 queues 20 broadcasts in one
// burst (transport.Burst), as an application emitting them in a row does.
//
// It reports, besides ns and allocations per operation, ns per delivery
// and write(2) calls per delivery.
func BenchmarkBroadcastWrite(b *testing.B) {
	for _, v := range []struct {
		name  string
		burst int
	}{{"single", 1}, {"burst20", 20}} {
		b.Run(v.name, func(b *testing.B) { benchBroadcast(b, 100, v.burst) })
	}
}

func benchBroadcast(b *testing.B, conns, burst int) {
	cfg := NewConfig(&Options{Logger: slog.New(slog.DiscardHandler)})
	var writes atomic.Int64
	type server struct {
		tr   *Transport
		sess *queueSession
	}
	ready := make(chan server, conns)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := cfg.Upgrade(w, r)
		if err != nil {
			return
		}
		conn.batch.testHook = func(op byte, _ []byte) {
			if op == 'W' {
				writes.Add(1)
			}
		}
		s := &queueSession{}
		tr := New(cfg, conn, s)
		tr.Start()
		ready <- server{tr, s}
	}))
	defer srv.Close()

	payload := strings.Repeat("x", 32)
	frameLen := 2 + 1 + len(payload) // header, "4", payload
	var pending atomic.Int64
	delivered := make(chan struct{}, 1)
	var clients []net.Conn
	var wg sync.WaitGroup
	servers := make([]server, conns)
	for i := range conns {
		c, _, err := gorilla.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			b.Fatal(err)
		}
		nc := c.NetConn()
		clients = append(clients, nc)
		servers[i] = <-ready
		wg.Go(func() {
			buf := make([]byte, frameLen*burst)
			for {
				if _, err := io.ReadFull(nc, buf); err != nil {
					return
				}
				if pending.Add(-1) == 0 {
					delivered <- struct{}{}
				}
			}
		})
	}
	defer func() {
		for _, s := range servers {
			s.tr.Close()
			<-s.tr.Done()
		}
		for _, c := range clients {
			c.Close()
		}
		wg.Wait()
	}()

	var count transport.Burst
	b.ReportAllocs()
	writes.Store(0)
	b.ResetTimer()
	for range b.N {
		pending.Store(int64(conns))
		count.Begin()
		for range burst {
			p := transport.TextPacket(payload)
			p.Shared = &transport.FrameCache{Burst: &count}
			for _, s := range servers {
				s.sess.send(s.tr, p)
			}
		}
		count.End()
		select {
		case <-delivered:
		case <-time.After(10 * time.Second):
			b.Fatal("broadcast not delivered")
		}
	}
	b.StopTimer()
	deliveries := float64(b.N * conns * burst)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
	b.ReportMetric(float64(writes.Load())/deliveries, "writes/delivery")
}
