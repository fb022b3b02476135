// Command rawserver is the benchmark's ceiling: a bare gorilla/websocket
// server with no Engine.IO or Socket.IO framing. It listens on 127.0.0.1
// with an OS-picked port, prints the port as the first line of stdout, and
// runs until SIGTERM or SIGINT.
//
// WebSocket endpoint /ws; each binary frame's first byte says what it is:
//
//	'E' ...                  echoed back unchanged
//	'J'                      adds the connection to the broadcast set; answered 'J'
//	'F' m:uint32 size:uint32 sends m frames 'T' time:int64 payload to every
//	                         connection in the broadcast set (time in Unix
//	                         microseconds, big-endian; payload size bytes),
//	                         then answers 'F' to the sender
//	'P' m:uint32 size:uint32 interval:uint32
//	                         answers 'P' start:int64, the time the first of
//	                         m frames is due (one interval from now), then
//	                         sends them to the broadcast set, one every
//	                         interval microseconds, each as 'T' carrying
//	                         the time it was due
//
// Each connection has one goroutine, reading; the upgrade handler returns
// once it is started. A broadcast frame is prepared once
// (websocket.PreparedMessage) and written to each connection in turn from
// the sender's goroutine. Connections use the same buffer settings as
// Ferry's websocket transport: the read buffer net/http already has, and
// pooled 4 KiB write buffers.
//
// /poll is a bare net/http handler with the shape of a long-polling
// connect, the floor of its cost on net/http: a GET without sid is
// answered with an open-packet-sized body, a POST (its body read) with
// "ok", a GET with sid with a CONNECT-reply-sized body; no sessions.
//
// GET /stats returns {"goroutines","rss","heap_inuse"} as JSON.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ferryio/ferry/bench/internal/procstat"
	"github.com/ferryio/ferry/bench/internal/serve"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	h := newHub()
	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	mux.HandleFunc("/poll", bareConnect)
	mux.Handle("/stats", procstat.Handler())
	if err := serve.Run(*addr, mux, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rawserver:", err)
		os.Exit(1)
	}
}

// maxFrame bounds incoming frames, as Ferry's default maxHttpBufferSize.
const maxFrame = 1e6

type hub struct {
	upgrader websocket.Upgrader

	mu    sync.Mutex
	conns map[*conn]struct{} // guarded by mu: the broadcast set
}

func newHub() *hub {
	return &hub{
		upgrader: websocket.Upgrader{
			WriteBufferSize: 4096,
			WriteBufferPool: &sync.Pool{},
			CheckOrigin:     func(*http.Request) bool { return true },
		},
		conns: make(map[*conn]struct{}),
	}
}

// conn is one client connection. Its read goroutine is the only reader;
// writes, from it or from a broadcasting goroutine, hold wmu.
type conn struct {
	ws  *websocket.Conn
	wmu sync.Mutex
}

func (c *conn) write(mt int, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(mt, data)
}

func (c *conn) writePrepared(pm *websocket.PreparedMessage) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WritePreparedMessage(pm)
}

// ServeHTTP upgrades the request and starts the connection's reader.
func (h *hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(maxFrame)
	c := &conn{ws: ws}
	// Read on a goroutine of its own and let the handler return, as
	// gorilla's examples do, so that net/http's per-request state is freed.
	go func() {
		h.read(c)
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
		ws.Close()
	}()
}

// read handles c's frames until the connection ends.
func (h *hub) read(c *conn) {
	var buf []byte
	for {
		mt, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		buf, err = appendAll(buf[:0], r)
		if err != nil || mt != websocket.BinaryMessage || len(buf) == 0 {
			return
		}
		switch buf[0] {
		case 'E':
			err = c.write(websocket.BinaryMessage, buf)
		case 'J':
			h.mu.Lock()
			h.conns[c] = struct{}{}
			h.mu.Unlock()
			err = c.write(websocket.BinaryMessage, []byte{'J'})
		case 'F':
			err = h.fanout(c, buf)
		case 'P':
			err = h.paced(c, buf)
		default:
			err = errors.New("unknown frame")
		}
		if err != nil {
			return
		}
	}
}

// fanout broadcasts the frames a 'F' command asks for, then answers it.
func (h *hub) fanout(from *conn, cmd []byte) error {
	if len(cmd) != 9 {
		return errors.New("bad fanout command")
	}
	m := binary.BigEndian.Uint32(cmd[1:5])
	size := binary.BigEndian.Uint32(cmd[5:9])
	if size > maxFrame {
		return errors.New("fanout payload too large")
	}
	payload := strings.Repeat("x", int(size))
	h.mu.Lock()
	targets := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		targets = append(targets, c)
	}
	h.mu.Unlock()
	frame := make([]byte, 9+len(payload))
	frame[0] = 'T'
	copy(frame[9:], payload)
	for range m {
		binary.BigEndian.PutUint64(frame[1:9], uint64(time.Now().UnixMicro()))
		pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, frame)
		if err != nil {
			return err
		}
		for _, c := range targets {
			// A failed target is dropped by its own read goroutine.
			c.writePrepared(pm)
		}
	}
	return from.write(websocket.BinaryMessage, []byte{'F'})
}

// openBody and connectBody are /poll's answers: the sizes of an Engine.IO
// open packet and of a Socket.IO CONNECT reply in a polling payload.
var (
	openBody    = []byte(`0{"sid":"AAAAAAAAAAAAAAAAAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)
	connectBody = []byte(`bkwCgqRkYXRhgaNzaWS0QUFBQUFBQUFBQUFBQUFBQUFBQUGjbnNwoS8=`)
)

// bareConnect answers the three requests of a long-polling connect.
func bareConnect(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	switch {
	case r.Method == http.MethodPost:
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Write([]byte("ok"))
	case r.URL.Query().Get("sid") == "":
		w.Write(openBody)
	default:
		w.Write(connectBody)
	}
}

// paced starts the broadcasts a 'P' command asks for, on a goroutine of
// their own, and answers the command with the first one's due time.
func (h *hub) paced(from *conn, cmd []byte) error {
	if len(cmd) != 13 {
		return errors.New("bad paced command")
	}
	m := binary.BigEndian.Uint32(cmd[1:5])
	size := binary.BigEndian.Uint32(cmd[5:9])
	interval := time.Duration(binary.BigEndian.Uint32(cmd[9:13])) * time.Microsecond
	if size > maxFrame || interval <= 0 {
		return errors.New("bad paced command")
	}
	start := time.Now().Add(interval)
	answer := make([]byte, 9)
	answer[0] = 'P'
	binary.BigEndian.PutUint64(answer[1:], uint64(start.UnixMicro()))
	if err := from.write(websocket.BinaryMessage, answer); err != nil {
		return err
	}
	go h.pace(start, interval, int(m), int(size))
	return nil
}

// pace sends m frames to the broadcast set, the i-th at start +
// i*interval, or at once if that time has passed, carrying its due time.
func (h *hub) pace(start time.Time, interval time.Duration, m, size int) {
	frame := make([]byte, 9+size)
	frame[0] = 'T'
	copy(frame[9:], strings.Repeat("x", size))
	var targets []*conn
	for i := range m {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		binary.BigEndian.PutUint64(frame[1:9], uint64(due.UnixMicro()))
		pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, frame)
		if err != nil {
			return
		}
		h.mu.Lock()
		targets = targets[:0]
		for c := range h.conns {
			targets = append(targets, c)
		}
		h.mu.Unlock()
		for _, c := range targets {
			// A failed target is dropped by its own read goroutine.
			c.writePrepared(pm)
		}
	}
}

// appendAll appends what r holds to buf, reusing its capacity.
func appendAll(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
