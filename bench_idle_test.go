package ferry_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/internal/connhold"
	"github.com/ferryio/ferry/internal/fdlimit"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// Environment of BenchmarkIdleSockets' client process.
const (
	idleClientEnv  = "FERRY_BENCH_IDLE_CLIENT_URL" // set: this process is the client; the server's ws:// URL
	idleSocketsEnv = "FERRY_BENCH_SOCKETS"         // number of sockets (default 2000)
	idleProfileEnv = "FERRY_BENCH_HEAPPROFILE"     // file for a heap profile taken at the measurement
	idleDeflateEnv = "FERRY_BENCH_DEFLATE"         // "1": WebSocket compression on (server and clients)
	idleEchoEnv    = "FERRY_BENCH_ECHO"            // bytes of one echo each connection makes after joining
)

// BenchmarkIdleSockets measures what an idle Socket.IO connection costs
// the server: a WebSocket-only connection that joined "/" and then sends
// nothing, with the application of bench/cmd/ferryserver (three event
// handlers registered by the connection handler).
//
// Method. The server runs in this process; the clients run in a child
// process, this test binary re-executed with FERRY_BENCH_IDLE_CLIENT_URL
// set (see TestMain), so that nothing they allocate is counted. The child
// opens N connections, joins "/" on each and reads the CONNECT reply,
// says "ready", then holds them until its stdin closes. The server process
// reads runtime.MemStats before the connections and once every connection
// handler has returned and the writers are idle, and reports per
// connection:
//
//   - alloc-B/conn: bytes allocated while connecting (TotalAlloc), live or
//     garbage; what the collector must catch up with;
//   - heap-B/conn: live heap after a forced collection (HeapAlloc);
//   - inuse-B/conn: heap spans in use after it (HeapInuse), fragmentation
//     included;
//   - stack-B/conn: goroutine stacks after it (StackInuse); a collection
//     shrinks a parked goroutine's stack only if less than a quarter of it
//     is used;
//   - goroutines/conn.
//
// Heartbeats are pushed out of the window (PingInterval 1h); the timer is
// still counted. N is 2000 (500 with -short), or FERRY_BENCH_SOCKETS. The
// run is one measurement, so use -benchtime=1x:
//
//	go test -run '^$' -bench IdleSockets -benchtime=1x
//
// With FERRY_BENCH_HEAPPROFILE=file, a heap profile is written at the
// measurement; add -memprofilerate=1 to record every allocation.
//
// WebSocket compression: FERRY_BENCH_DEFLATE=1 turns it on
// (Options.PerMessageDeflate, and clients that offer it), and
// FERRY_BENCH_ECHO=4096 has each connection echo one JSON-like string of
// that many bytes after joining (compressed both ways when on), so that
// what compression leaves behind on a connection that used it is counted.
func BenchmarkIdleSockets(b *testing.B) {
	n := 2000
	if testing.Short() {
		n = 500
	}
	if v := os.Getenv(idleSocketsEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive integer", idleSocketsEnv, v)
		}
	}
	if err := fdlimit.Raise(n + 256); err != nil {
		b.Fatal(err)
	}

	opts := &ferry.Options{PingInterval: time.Hour, PingTimeout: time.Hour, Logger: quiet}
	if os.Getenv(idleDeflateEnv) == "1" {
		opts.PerMessageDeflate = &ferry.DeflateOptions{}
	}
	srv := ferry.NewServer(opts)
	var mu sync.Mutex
	handled := 0
	allHandled := make(chan struct{})
	srv.OnConnection(func(s *ferry.Socket) {
		registerBenchApp(srv, s)
		mu.Lock()
		handled++
		if handled == n {
			close(allHandled)
		}
		mu.Unlock()
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"

	before := readMem(true)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), idleClientEnv+"="+url, idleSocketsEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("client process: %v", err)
		}
	}()
	b.ResetTimer()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		b.Fatalf("client process: %q, %v", line, err)
	}
	select {
	case <-allHandled:
	case <-time.After(within):
		b.Fatalf("connection handlers: %d of %d ran", handled, n)
	}
	// Each reply was read, so its writer goroutine is ending; wait until
	// only the readers are left.
	deadline := time.Now().Add(within)
	for runtime.NumGoroutine() > before.goroutines+n {
		if time.Now().After(deadline) {
			b.Fatalf("%d goroutines, want at most %d", runtime.NumGoroutine(), before.goroutines+n)
		}
		runtime.Gosched()
	}
	b.StopTimer()
	allocated := readMem(false)
	after := readMem(true)
	if path := os.Getenv(idleProfileEnv); path != "" {
		if err := writeHeapProfile(path); err != nil {
			b.Fatal(err)
		}
	}

	per := func(v uint64, base uint64) float64 { return (float64(v) - float64(base)) / float64(n) }
	b.ReportMetric(per(allocated.totalAlloc, before.totalAlloc), "alloc-B/conn")
	b.ReportMetric(per(after.heapAlloc, before.heapAlloc), "heap-B/conn")
	b.ReportMetric(per(after.heapInuse, before.heapInuse), "inuse-B/conn")
	b.ReportMetric(per(after.stackInuse, before.stackInuse), "stack-B/conn")
	b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/conn")
	b.ReportMetric(0, "ns/op")
}

// registerBenchApp registers bench/cmd/ferryserver's event handlers on s.
func registerBenchApp(srv *ferry.Server, s *ferry.Socket) {
	s.On("echo", func(e *ferry.Event) {
		if len(e.Args) == 0 {
			e.Ack()
			return
		}
		e.Ack(e.Args[0])
	})
	s.On("join", func(e *ferry.Event) {
		var room string
		if e.Decode(&room) == nil {
			s.Join(room)
		}
		e.Ack()
	})
	s.On("fanout", func(e *ferry.Event) {
		var room string
		var m int
		if e.Decode(&room, &m) != nil {
			return
		}
		for range m {
			srv.To(room).Emit("tick", time.Now().UnixMicro())
		}
		e.Ack(m)
	})
}

// mem is what the server process holds.
type mem struct {
	totalAlloc, heapAlloc, heapInuse, stackInuse uint64
	goroutines                                   int
}

// readMem reads the memory statistics, after two collections with gc (the
// second frees what the first's finalizers released).
func readMem(gc bool) mem {
	if gc {
		runtime.GC()
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return mem{
		totalAlloc: ms.TotalAlloc,
		heapAlloc:  ms.HeapAlloc,
		heapInuse:  ms.HeapInuse,
		stackInuse: ms.StackInuse,
		goroutines: runtime.NumGoroutine(),
	}
}

// writeHeapProfile writes the heap profile as of the last collection.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runIdleClient is BenchmarkIdleSockets' client process: it opens the
// connections, joins "/" on each, says "ready", and holds them until stdin
// closes. It returns the exit code.
func runIdleClient() int {
	url := os.Getenv(idleClientEnv)
	n, err := strconv.Atoi(os.Getenv(idleSocketsEnv))
	if err == nil {
		err = fdlimit.Raise(n + 256)
	}
	var connect, echo []byte
	if err == nil {
		connect, err = encodeConnect()
	}
	if v := os.Getenv(idleEchoEnv); v != "" && err == nil {
		var size int
		if size, err = strconv.Atoi(v); err == nil {
			echo, err = encodeEcho(size)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "idle client:", err)
		return 2
	}
	d := gorilla.Dialer{HandshakeTimeout: within, ReadBufferSize: 256, WriteBufferSize: 256,
		EnableCompression: os.Getenv(idleDeflateEnv) == "1"}
	dial := func() (io.Closer, error) {
		conn, err := dialJoin(d, url, connect)
		if err == nil && echo != nil {
			if err = echoOnce(conn, echo); err != nil {
				conn.Close()
			}
		}
		return conn, err
	}
	if err := connhold.Hold(n, dial, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "idle client:", err)
		return 1
	}
	return 0
}

// encodeConnect returns the Engine.IO frame of a msgpack CONNECT to "/".
func encodeConnect() ([]byte, error) {
	frames, err := parser.Msgpack().Encode(&parser.Packet{Type: parser.Connect, Namespace: "/"})
	if err != nil {
		return nil, err
	}
	if len(frames) != 1 || !frames[0].Binary {
		return nil, fmt.Errorf("CONNECT encodes to %d frames", len(frames))
	}
	return frames[0].Data, nil
}

// encodeEcho returns the msgpack frame of an "echo" event, ack id 1,
// carrying a JSON-like string of size bytes.
func encodeEcho(size int) ([]byte, error) {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user-%d","text":"hello there","tags":["a","b"]},`, i, i%7)
	}
	frames, err := parser.Msgpack().Encode(&parser.Packet{Type: parser.Event, Namespace: "/", ID: 1, HasID: true,
		Args: []any{"echo", b.String()[:size]}})
	if err != nil {
		return nil, err
	}
	if len(frames) != 1 || !frames[0].Binary {
		return nil, fmt.Errorf("echo encodes to %d frames", len(frames))
	}
	return frames[0].Data, nil
}

// echoOnce sends echo and reads the ack.
func echoOnce(conn *gorilla.Conn, echo []byte) error {
	conn.SetReadDeadline(time.Now().Add(within))
	defer conn.SetReadDeadline(time.Time{})
	if err := conn.WriteMessage(gorilla.BinaryMessage, echo); err != nil {
		return err
	}
	mt, data, err := conn.ReadMessage()
	if err == nil && (mt != gorilla.BinaryMessage || len(data) < len(echo)-8) {
		err = fmt.Errorf("echo: a %d-byte reply", len(data))
	}
	return err
}

// dialJoin opens a WebSocket-only connection, reads the open packet, joins
// "/" and reads the CONNECT reply.
func dialJoin(d gorilla.Dialer, url string, connect []byte) (*gorilla.Conn, error) {
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(within))
	mt, data, err := conn.ReadMessage()
	if err == nil {
		var open transport.Packet
		if open, err = transport.DecodeFrame(data, mt == gorilla.BinaryMessage); err == nil && open.Type != transport.Open {
			err = fmt.Errorf("want the open packet, got %v", open.Type)
		}
	}
	if err == nil {
		err = conn.WriteMessage(gorilla.BinaryMessage, connect)
	}
	if err == nil {
		err = readConnectReply(conn)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetReadDeadline(time.Time{})
	return conn, nil
}

// readConnectReply reads the server's answer to CONNECT and fails unless it
// is CONNECT.
func readConnectReply(conn *gorilla.Conn) error {
	mt, data, err := conn.ReadMessage()
	if err != nil {
		return err
	}
	p, err := transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
	if err != nil {
		return err
	}
	m, err := parser.Msgpack().NewDecoder().Decode(p.Data, p.Binary)
	if err != nil {
		return err
	}
	if m == nil || m.Type != parser.Connect {
		return fmt.Errorf("CONNECT refused: %q", data)
	}
	return nil
}
