package ferry_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// The benchmarks measure the server: emits and broadcasts to clients that
// only count what they receive. Each client joins "/" by hand and then
// reads with as little work as possible, off the measured path:
//
//   - over WebSocket, it reads the TCP stream below gorilla and counts
//     complete data frames by parsing frame headers into a reused buffer,
//     so it allocates nothing;
//   - over long-polling, it issues GETs in a loop and counts the records
//     of each payload (the HTTP client's own allocations are counted: the
//     polling figures are indicative).
//
// Emits are windowed: the benchmark keeps at most benchWindow emits ahead
// of the slowest delivery, so that queues stay short and the figures are
// steady-state throughput, not queueing. ns/delivery and allocs/delivery
// divide the benchmark's time and heap allocations (in the whole process)
// by the number of packets delivered, b.N × targets. Heartbeats are pushed
// out of the window (PingInterval 1h).
//
//	go test -run '^$' -bench . -benchmem

const benchWindow = 32

// benchServer serves Ferry for a benchmark, with one counter shared by all
// its drains.
type benchServer struct {
	*ferry.Server
	url       string
	delivered atomic.Int64
	want      atomic.Int64  // the count a waiter waits for
	reached   chan struct{} // signalled when delivered reaches want
	deadline  *time.Timer   // bounds each wait; reused, so that waiting allocates nothing
	drains    sync.WaitGroup
}

// newBenchServer starts a server for b, with obs (which may be nil) as its
// Observer.
func newBenchServer(b *testing.B, obs *ferry.Observer) *benchServer {
	srv := ferry.NewServer(&ferry.Options{PingInterval: time.Hour, PingTimeout: time.Hour, Observer: obs, Logger: quiet})
	hs := httptest.NewServer(srv)
	bs := &benchServer{Server: srv, url: hs.URL, reached: make(chan struct{}, 1), deadline: time.NewTimer(within)}
	bs.deadline.Stop()
	bs.want.Store(-1)
	// Last in, first out: close the server, which ends every drain, wait
	// for them, then close the listener.
	b.Cleanup(hs.Close)
	b.Cleanup(bs.drains.Wait)
	b.Cleanup(func() { srv.Close() })
	return bs
}

// delivered1 counts one delivery.
func (bs *benchServer) delivered1() {
	if bs.delivered.Add(1) == bs.want.Load() {
		select {
		case bs.reached <- struct{}{}:
		default:
		}
	}
}

// waitFor blocks until n packets have been delivered in all.
func (bs *benchServer) waitFor(b *testing.B, n int64) {
	bs.want.Store(n)
	if bs.delivered.Load() >= n {
		return
	}
	bs.deadline.Reset(within)
	defer bs.deadline.Stop()
	for bs.delivered.Load() < n {
		select {
		case <-bs.reached:
		case <-bs.deadline.C:
			b.Fatalf("delivered %d packets of %d", bs.delivered.Load(), n)
		}
	}
}

// run emits b.N times with emit, to targets clients each, and reports the
// per-delivery figures.
func (bs *benchServer) run(b *testing.B, targets int, emit func() error) {
	bs.delivered.Store(0)
	var before, after runtime.MemStats
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := range b.N {
		if i >= benchWindow {
			bs.waitFor(b, int64(i-benchWindow+1)*int64(targets))
		}
		if err := emit(); err != nil {
			b.Fatal(err)
		}
	}
	bs.waitFor(b, int64(b.N)*int64(targets))
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	b.StopTimer()
	deliveries := float64(b.N) * float64(targets)
	b.ReportMetric(float64(elapsed.Nanoseconds())/deliveries, "ns/delivery")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/deliveries, "allocs/delivery")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/deliveries, "B/delivery")
}

// join opens a client over the named transport, joins "/" and starts
// draining. It returns the server's socket.
func (bs *benchServer) join(b *testing.B, how string) *ferry.Socket {
	var sid string
	if how == "websocket" {
		sid = bs.joinWebSocket(b)
	} else {
		sid = bs.joinPolling(b)
	}
	s := bs.Of("/").Socket(sid)
	if s == nil {
		b.Fatalf("no socket %q", sid)
	}
	return s
}

// connectPacket is the CONNECT for "/" in the server's default parser.
func connectPacket(b *testing.B) transport.Packet {
	frames, err := parser.Msgpack().Encode(&parser.Packet{Type: parser.Connect})
	if err != nil || len(frames) != 1 {
		b.Fatalf("encode CONNECT: %v", err)
	}
	return transport.Packet{Type: transport.Message, Data: frames[0].Data, Binary: frames[0].Binary}
}

// connectReply decodes the server's CONNECT reply and returns the sid.
func connectReply(b *testing.B, p transport.Packet) string {
	m, err := parser.Msgpack().NewDecoder().Decode(p.Data, p.Binary)
	if err != nil || m == nil || m.Type != parser.Connect {
		b.Fatalf("CONNECT reply: %v %+v", err, m)
	}
	var reply struct {
		SID string `json:"sid"`
	}
	if err := m.Payload.Decode(&reply); err != nil {
		b.Fatal(err)
	}
	return reply.SID
}

func (bs *benchServer) joinWebSocket(b *testing.B) string {
	u := "ws" + strings.TrimPrefix(bs.url, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, resp, err := gorilla.DefaultDialer.Dial(u, nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	b.Cleanup(func() { ws.Close() })
	if _, _, err := ws.ReadMessage(); err != nil { // the open packet
		b.Fatal(err)
	}
	p := connectPacket(b)
	if err := ws.WriteMessage(gorilla.BinaryMessage, p.Data); err != nil {
		b.Fatal(err)
	}
	mt, data, err := ws.ReadMessage()
	if err != nil {
		b.Fatal(err)
	}
	reply, err := transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
	if err != nil {
		b.Fatal(err)
	}
	sid := connectReply(b, reply)
	// Nothing else has been sent, so gorilla has nothing buffered: read
	// the raw stream from here on.
	bs.drains.Go(func() { bs.drainFrames(ws.NetConn()) })
	return sid
}

// drainFrames counts the complete data messages in a stream of unmasked
// server frames, until the connection closes.
func (bs *benchServer) drainFrames(conn net.Conn) {
	buf := make([]byte, 64<<10)
	var have, skip int // bytes in buf; payload bytes still to skip
	for {
		n, err := conn.Read(buf[have:])
		if err != nil {
			return
		}
		have += n
		off := 0
		for {
			if skip > 0 {
				k := min(skip, have-off)
				skip -= k
				off += k
				if skip > 0 {
					break
				}
			}
			if have-off < 2 {
				break
			}
			fin, opcode := buf[off]&0x80 != 0, buf[off]&0x0f
			size, hdr := int(buf[off+1]&0x7f), 2
			switch size {
			case 126:
				if have-off < 4 {
					break
				}
				size, hdr = int(binary.BigEndian.Uint16(buf[off+2:])), 4
			case 127:
				if have-off < 10 {
					break
				}
				size, hdr = int(binary.BigEndian.Uint64(buf[off+2:])), 10
			}
			if have-off < hdr {
				break
			}
			off += hdr
			skip = size
			if fin && opcode < 8 {
				bs.delivered1()
			}
		}
		have = copy(buf, buf[off:have])
	}
}

func (bs *benchServer) joinPolling(b *testing.B) string {
	hc := &http.Client{Transport: &http.Transport{}}
	b.Cleanup(hc.CloseIdleConnections)
	base := bs.url + "/socket.io/?EIO=4&transport=polling"
	get := func(url string) []byte {
		resp, err := hc.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("GET: %v %s", err, body)
		}
		return body
	}
	open, err := transport.DecodePacket(get(base))
	if err != nil {
		b.Fatal(err)
	}
	url := base + "&sid=" + openSID(b, open.Data)
	resp, err := hc.Post(url, "text/plain", bytes.NewReader(transport.EncodePayload([]transport.Packet{connectPacket(b)})))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	pkts, err := transport.DecodePayload(get(url))
	if err != nil || len(pkts) != 1 {
		b.Fatalf("CONNECT reply: %v %v", err, pkts)
	}
	sid := connectReply(b, pkts[0])
	bs.drains.Go(func() {
		bs.drainPolls(hc, url)
		hc.CloseIdleConnections()
	})
	return sid
}

// drainPolls counts the message records of each long-poll until the
// session ends.
func (bs *benchServer) drainPolls(hc *http.Client, url string) {
	var body bytes.Buffer
	for {
		resp, err := hc.Get(url)
		if err != nil {
			return
		}
		body.Reset()
		_, err = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return
		}
		for rec := range bytes.SplitSeq(body.Bytes(), []byte{transport.RecordSeparator}) {
			switch {
			case len(rec) == 0:
			case rec[0] == '4' || rec[0] == 'b':
				bs.delivered1()
			case rec[0] == '1':
				return
			}
		}
	}
}

// benchArgs is a typical small event: a string and a small object.
var benchArgs = []any{"room-42", map[string]any{"user": "ann", "text": "hello there", "n": 7}}

// BenchmarkEmit emits to one socket.
func BenchmarkEmit(b *testing.B) {
	for _, how := range []string{"websocket", "polling"} {
		b.Run(how, func(b *testing.B) {
			bs := newBenchServer(b, nil)
			s := bs.join(b, how)
			bs.run(b, 1, func() error { return s.Emit("chat", benchArgs...) })
		})
	}
}

// BenchmarkBroadcast emits to every socket of the main namespace. The
// packet is encoded once, and over WebSocket framed once, whatever the
// number of targets, so allocations per delivery must not grow with it.
func BenchmarkBroadcast(b *testing.B) {
	for _, c := range []struct {
		how     string
		targets int
	}{{"websocket", 10}, {"websocket", 100}, {"websocket", 1000}, {"polling", 10}, {"polling", 100}} {
		b.Run(fmt.Sprintf("%s-%d", c.how, c.targets), func(b *testing.B) {
			bs := newBenchServer(b, nil)
			for range c.targets {
				bs.join(b, c.how)
			}
			nsp := bs.Of("/")
			bs.run(b, c.targets, func() error { return nsp.Emit("chat", benchArgs...) })
		})
	}
}
