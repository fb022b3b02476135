package websocket

import (
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/internal/lifecycle"
	"github.com/ferryio/ferry/transport"
)

// ErrMessageTooLarge is passed to the session when the peer sent a message
// over the size limit; the connection is closed with status 1009.
var ErrMessageTooLarge = errors.New("websocket: message exceeds the maximum payload size")

// Options configures NewConfig.
type Options struct {
	// MaxHTTPBufferSize is the largest message accepted, in bytes.
	// Default 1e6, as socket.io's maxHttpBufferSize.
	MaxHTTPBufferSize int64
	// WriteTimeout bounds each batch of writes. Default 10s.
	WriteTimeout time.Duration
	// CheckOrigin decides whether the Origin of an upgrade request is
	// allowed. Default: same origin only (the Origin's host equals Host).
	CheckOrigin func(r *http.Request) bool
	// ReadBufferSize is the size of the per-connection read buffer that
	// frames are parsed from, held for the life of the connection. Default
	// 128 (the least gorilla/websocket accepts is 125, for a control
	// frame). On Unix systems input is read from the socket into pooled
	// 4 KiB buffers, held only while their bytes are being handled, so an
	// idle connection holds no more than this; elsewhere reads go through
	// it, and a larger size (1024, 4096) saves system calls.
	ReadBufferSize int
	// WriteBufferSize is the size of the pooled write buffers. Default 4096.
	WriteBufferSize int
	// Logger receives transport-level diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// Config holds the settings shared by the WebSocket transports of one
// engine. Build it once with NewConfig; it is safe for concurrent use.
type Config struct {
	upgrader     gorilla.Upgrader
	batchPool    sync.Pool // write buffers of batchConn
	readPool     sync.Pool // read-ahead buffers of batchConn
	maxMessage   int64
	writeTimeout time.Duration
	logger       *slog.Logger
}

// NewConfig returns a Config for opts, which may be nil.
func NewConfig(opts *Options) *Config {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxHTTPBufferSize <= 0 {
		o.MaxHTTPBufferSize = 1e6
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = 128
	}
	if o.WriteBufferSize <= 0 {
		o.WriteBufferSize = 4096
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Config{
		upgrader: gorilla.Upgrader{
			ReadBufferSize:  o.ReadBufferSize,
			WriteBufferSize: o.WriteBufferSize,
			WriteBufferPool: &sync.Pool{},
			CheckOrigin:     o.CheckOrigin,
			// Engine.IO servers decline permessage-deflate by default.
			EnableCompression: false,
		},
		maxMessage:   o.MaxHTTPBufferSize,
		writeTimeout: o.WriteTimeout,
		logger:       o.Logger,
	}
	c.readPool.New = func() any {
		b := make([]byte, readAheadSize)
		return &b
	}
	return c
}

// Conn is an upgraded WebSocket connection not yet bound to a session.
type Conn struct {
	ws     *gorilla.Conn
	batch  *batchConn
	base64 bool
}

// Upgrade completes the WebSocket handshake for r. Headers already set on
// w (CORS, Set-Cookie) are sent with the 101 response. On failure the request
// has been answered (400 or 403 with a text message) and the error says why.
// A request with b64=1 gets binary messages as base64 text frames.
func (c *Config) Upgrade(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	h := &batchHijacker{ResponseWriter: w, pool: &c.batchPool, readPool: &c.readPool}
	ws, err := c.upgrader.Upgrade(h, r, w.Header())
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(c.maxMessage)
	return &Conn{ws: ws, batch: h.conn, base64: r.URL.Query().Get("b64") != ""}, nil
}

// Transport is a WebSocket transport for one session.
//
// It ends once, on Close, after writing a last batch, or when the
// connection fails or the peer breaks the protocol. It then tells the
// session with TransportClosed, as soon as neither of its goroutines is
// inside a Session call, and closes Done.
type Transport struct {
	cfg  *Config
	conn *Conn
	sess transport.Session
	done chan struct{} // closed after TransportClosed returned

	mu      sync.Mutex
	writing bool // guarded by mu: a writer goroutine, or the reader, is writing
	again   bool // guarded by mu: Wake was called while writing
	// delivering is guarded by mu: the read goroutine is inside
	// Session.Deliver, where the application's handlers run.
	delivering bool
	// closeSent is guarded by mu: the last batch, ending with a close
	// frame, is being written.
	closeSent bool
	// deferred is guarded by mu: a Wake came while delivering and was left
	// to the read goroutine, which writes before it next waits for input.
	deferred bool
	// deadline is the write deadline set on the connection; used only by
	// the writer goroutine of the moment (handed over under mu).
	deadline time.Time
	// life is guarded by mu. Its users are the reader and writer
	// goroutines; its reason is nil for Close or a last batch.
	life lifecycle.Tracker
}

// New binds conn to sess. Call Start to begin reading.
func New(cfg *Config, conn *Conn, sess transport.Session) *Transport {
	t := &Transport{cfg: cfg, conn: conn, sess: sess, done: make(chan struct{})}
	conn.batch.beforeRead = t.flushDeferred
	return t
}

// Start starts the read goroutine, which delivers packets to the session
// until the connection ends. It does nothing once the transport has ended.
func (t *Transport) Start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.life.EnterLocked() {
		go t.readLoop()
	}
}

// Name returns "websocket".
func (t *Transport) Name() string { return transport.NameWebSocket }

// Done is closed once the transport has ended and the session has been
// told.
func (t *Transport) Done() <-chan struct{} { return t.done }

// Close closes the connection without a close frame, which ends both
// goroutines. TransportClosed(nil) follows once neither is inside a Session
// call, which may be before Close returns. Close never blocks on the peer.
func (t *Transport) Close() error {
	t.end(nil)
	return nil
}

// end ends the transport for reason, once, and closes the connection.
func (t *Transport) end(reason error) {
	t.mu.Lock()
	if t.closeSent && errors.Is(reason, transport.ErrPeerClosed) {
		// The peer answering our close frame: the end is ours.
		reason = nil
	}
	first, report := t.life.EndLocked(reason)
	t.mu.Unlock()
	if !first {
		return
	}
	t.conn.ws.Close()
	if report {
		t.report(reason)
	}
}

// exit unregisters a reader or writer goroutine; the last one out after
// the end tells the session.
func (t *Transport) exit() {
	t.mu.Lock()
	report, reason := t.life.LeaveLocked()
	t.mu.Unlock()
	if report {
		t.report(reason)
	}
}

// report tells the session why the transport ended, then closes Done.
func (t *Transport) report(reason error) {
	t.sess.TransportClosed(t, reason)
	close(t.done)
}

// Wake makes sure the queued packets get written. It never blocks.
//
// A writer goroutine is started unless one is running, in which case the
// running one takes the new packets before it ends. The first Wake while
// the read goroutine is delivering a packet (a handler replying, typically)
// starts nothing: the read goroutine writes the packets itself once it has
// no more input to handle, as a plain echo server would, which saves a
// goroutine hand-off per reply. A second Wake in that time starts the
// writer, so a handler that runs long delays at most one wake-up.
func (t *Transport) Wake() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.writing {
		t.again = true
		return
	}
	if _, ended := t.life.EndedLocked(); ended {
		return
	}
	if t.delivering && !t.deferred {
		t.deferred = true
		return
	}
	t.startWriterLocked()
}

// startWriterLocked starts a writer goroutine, taking over any deferred
// write. It leaves writing false if the transport has ended.
func (t *Transport) startWriterLocked() {
	t.deferred = false
	if t.life.EnterLocked() {
		t.writing = true
		go t.writeLoop()
	} else {
		t.writing = false
	}
}

// flushDeferred runs on the read goroutine before each read from the
// connection (batchConn.beforeRead): if a Wake was left to it and no writer
// has taken over since, it writes what is queued. Should more be queued
// while it writes, it starts a writer goroutine for that and goes back to
// reading.
func (t *Transport) flushDeferred() {
	t.mu.Lock()
	if !t.deferred || t.writing {
		t.mu.Unlock()
		return
	}
	t.deferred = false
	if _, ended := t.life.EndedLocked(); ended {
		t.mu.Unlock()
		return
	}
	t.writing, t.again = true, false
	t.mu.Unlock()

	pkts, last := t.sess.Take(t)
	if len(pkts) > 0 {
		if err := t.writePackets(pkts, last); err != nil || last {
			t.mu.Lock()
			t.writing = false
			t.mu.Unlock()
			t.end(err)
			return
		}
	}
	t.mu.Lock()
	if t.again {
		t.startWriterLocked()
	} else {
		t.writing = false
	}
	t.mu.Unlock()
}

// maxCoalesceRounds bounds how many times a writer holding a broadcast
// packet lets other goroutines run before it writes; see takeCoalesced.
const maxCoalesceRounds = 16

// writeLoop writes queued packets until the session has none left for this
// transport, or the transport ends.
func (t *Transport) writeLoop() {
	defer t.exit()
	for {
		t.mu.Lock()
		if _, ended := t.life.EndedLocked(); ended {
			t.writing = false
			t.mu.Unlock()
			return
		}
		t.again = false
		t.mu.Unlock()
		pkts, last := t.takeCoalesced()
		if len(pkts) == 0 {
			t.mu.Lock()
			if _, ended := t.life.EndedLocked(); t.again && !ended {
				t.mu.Unlock()
				continue
			}
			t.writing = false
			t.mu.Unlock()
			return
		}
		err := t.writePackets(pkts, last)
		if err != nil || last {
			t.mu.Lock()
			t.writing = false
			t.mu.Unlock()
			t.end(err)
			return
		}
	}
}

// takeCoalesced takes the queued packets. When they include a broadcast
// packet (one framed once for many connections), it first lets the other
// runnable goroutines run, and takes again, for as long as each round
// brings more packets or the server is still handing out a broadcast
// (transport.Burst), up to maxCoalesceRounds rounds and maxBatch bytes.
// When an application broadcasts several messages in a row, each
// connection then gets them in one write instead of one or two per write;
// on an idle machine the first round brings nothing, no broadcast is in
// progress, and the packets leave at once.
func (t *Transport) takeCoalesced() ([]transport.Packet, bool) {
	pkts, last := t.sess.Take(t)
	shared := firstShared(pkts)
	if last || shared == nil {
		return pkts, last
	}
	// Every broadcast packet a server sends carries the same Burst.
	burst := shared.Burst
	size := packetBytes(pkts)
	for range maxCoalesceRounds {
		if size >= maxBatch {
			break
		}
		runtime.Gosched()
		more, moreLast := t.sess.Take(t)
		if len(more) == 0 {
			if burst != nil && burst.Active() {
				continue
			}
			break
		}
		pkts = append(pkts, more...)
		if moreLast {
			return pkts, true
		}
		size += packetBytes(more)
	}
	return pkts, false
}

// firstShared returns the FrameCache of the first broadcast packet among
// pkts, or nil if there is none.
func firstShared(pkts []transport.Packet) *transport.FrameCache {
	for _, p := range pkts {
		if p.Shared != nil {
			return p.Shared
		}
	}
	return nil
}

func packetBytes(pkts []transport.Packet) int {
	n := 0
	for _, p := range pkts {
		n += len(p.Data)
	}
	return n
}

// writePackets writes one frame per packet, then a bare close frame if last.
func (t *Transport) writePackets(pkts []transport.Packet, last bool) (err error) {
	ws := t.conn.ws
	if last {
		t.mu.Lock()
		t.closeSent = true
		t.mu.Unlock()
	}
	// The deadline is moved on only once less than half of WriteTimeout is
	// left, so that consecutive batches share it and batchConn need not
	// reset the connection's timer each time: every batch still gets at
	// least WriteTimeout/2.
	now := time.Now()
	if t.deadline.Sub(now) < t.cfg.writeTimeout/2 {
		t.deadline = now.Add(t.cfg.writeTimeout)
		if err := ws.SetWriteDeadline(t.deadline); err != nil {
			return err
		}
	}
	deadline := t.deadline
	// The frames go out together, in one system call per batch.
	t.conn.batch.begin()
	defer func() {
		if flushErr := t.conn.batch.end(); err == nil {
			err = flushErr
		}
	}()
	var text []byte
	for _, p := range pkts {
		var err error
		switch {
		case p.Shared != nil && !(p.Binary && t.conn.base64):
			err = ws.WritePreparedMessage(preparedFrame(p))
		case p.Binary && !t.conn.base64:
			err = ws.WriteMessage(gorilla.BinaryMessage, p.Data)
		case p.Binary:
			text = append(text[:0], 'b')
			text = base64.StdEncoding.AppendEncode(text, p.Data)
			err = ws.WriteMessage(gorilla.TextMessage, text)
		default:
			text = transport.AppendPacket(text[:0], p)
			err = ws.WriteMessage(gorilla.TextMessage, text)
		}
		if err != nil {
			return err
		}
	}
	if last {
		// A close frame with no status, as the reference server sends.
		return ws.WriteControl(gorilla.CloseMessage, nil, deadline)
	}
	return nil
}

// readLoop reads frames and delivers them to the session in order.
func (t *Transport) readLoop() {
	defer t.exit()
	for {
		mt, data, err := t.conn.ws.ReadMessage()
		if err != nil {
			t.end(readError(err))
			return
		}
		p, err := transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
		if err != nil {
			t.end(err)
			return
		}
		t.mu.Lock()
		if _, ended := t.life.EndedLocked(); ended {
			t.mu.Unlock()
			return
		}
		t.delivering = true
		t.mu.Unlock()
		err = t.sess.Deliver(t, p)
		t.mu.Lock()
		t.delivering = false
		t.mu.Unlock()
		if err != nil {
			// The session rejected the packet and is closing this transport.
			return
		}
	}
}

// readError classifies a read failure for the session.
func readError(err error) error {
	switch {
	case errors.Is(err, gorilla.ErrReadLimit):
		return ErrMessageTooLarge
	case gorilla.IsCloseError(err, gorilla.CloseNormalClosure, gorilla.CloseGoingAway,
		gorilla.CloseNoStatusReceived, gorilla.CloseAbnormalClosure):
		// 1006 is how gorilla reports a connection that ended without a
		// close frame; the reference server calls that "transport close"
		// too, as the ws library reports it as a plain close.
		return transport.ErrPeerClosed
	default:
		return err
	}
}

// Close closes a connection that was never bound to a session.
func (c *Conn) Close() error { return c.ws.Close() }

// preparedFrame returns the broadcast packet p framed once for every
// connection it goes to.
func preparedFrame(p transport.Packet) *gorilla.PreparedMessage {
	return p.Shared.Frame(func() any {
		var pm *gorilla.PreparedMessage
		if p.Binary {
			pm, _ = gorilla.NewPreparedMessage(gorilla.BinaryMessage, p.Data)
		} else {
			pm, _ = gorilla.NewPreparedMessage(gorilla.TextMessage, transport.EncodePacket(p))
		}
		return pm
	}).(*gorilla.PreparedMessage)
}
