package websocket

import (
	"bufio"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"time"
	"unicode/utf8"

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
	// WriteTimeout bounds each batch of writes, and each 32 KiB of a large
	// frame: a peer that takes a large frame slowly gets it whole, one that
	// stops reading fails the write. Default 10s.
	WriteTimeout time.Duration
	// CheckOrigin decides whether the Origin of an upgrade request is
	// allowed. Default: same origin only (the Origin's host equals Host).
	CheckOrigin func(r *http.Request) bool
	// ReadBufferSize is the size of the per-connection buffered reader that
	// frames are parsed from. Default and minimum 288 (gorilla/websocket
	// reads through a reader it is given only if it holds more than 256
	// bytes). On Unix systems input is read from the socket into pooled
	// 4 KiB buffers, held only while their bytes are being handled, so an
	// idle connection holds no more than this, and on Linux a parked one
	// (see the package doc) not even this; elsewhere reads go through it,
	// and a larger size (1024, 4096) saves system calls.
	ReadBufferSize int
	// WriteBufferSize is the size of the pooled write buffers. Default 4096.
	WriteBufferSize int
	// Deflate, if set, accepts permessage-deflate (RFC 7692) from clients
	// that offer it; see DeflateOptions. Default nil: the extension is
	// declined, as socket.io declines it by default.
	Deflate *DeflateOptions
	// Logger receives transport-level diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// DeflateOptions configures permessage-deflate, socket.io's
// perMessageDeflate. Each message is compressed on its own (no context
// takeover, either way): a connection holds a compressor only while it
// writes a compressed message, and a decompressor only while it reads one,
// both taken from pools shared by every connection.
type DeflateOptions struct {
	// Threshold is the size, in bytes of a frame's payload (the encoded
	// packet), from which messages are compressed; smaller ones, and
	// packets marked NoCompress, are sent uncompressed. Default 1024, as
	// socket.io's perMessageDeflate.threshold. Negative compresses every
	// message.
	Threshold int
	// Level is the compress/flate level, from flate.HuffmanOnly (-2) to
	// flate.BestCompression (9). Default flate.BestSpeed (1); zero, and a
	// level out of range (logged as a warning), take the default.
	Level int
}

// Config holds the settings shared by the WebSocket transports of one
// engine. Build it once with NewConfig; it is safe for concurrent use.
type Config struct {
	upgrader  gorilla.Upgrader
	batchPool sync.Pool // write buffers of batchConn
	readPool  sync.Pool // read-ahead buffers of batchConn
	// readers holds the buffers of parked connections' buffered readers,
	// each in a *bufio.Reader of readSize (see releaseReaderBuffer).
	readers      sync.Pool
	readSize     int // size of each connection's buffered reader
	maxMessage   int64
	writeTimeout time.Duration
	logger       *slog.Logger
	// deflate is set when permessage-deflate is accepted; threshold and
	// level are then DeflateOptions' with defaults applied.
	deflate   bool
	threshold int
	level     int

	// idle waits for input on the connections of parked readers (Linux).
	idle *idlePoller
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
	if o.ReadBufferSize < minReadBufferSize {
		o.ReadBufferSize = minReadBufferSize
	}
	if o.WriteBufferSize <= 0 {
		o.WriteBufferSize = 4096
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Config{
		upgrader: gorilla.Upgrader{
			// Zero: gorilla/websocket reads through the buffered reader
			// batchHijacker hands it, of ReadBufferSize bytes.
			ReadBufferSize:  0,
			WriteBufferSize: o.WriteBufferSize,
			WriteBufferPool: &sync.Pool{},
			CheckOrigin:     o.CheckOrigin,
			// Engine.IO servers decline permessage-deflate by default.
			EnableCompression: o.Deflate != nil,
		},
		idle:         newIdlePoller(),
		readSize:     o.ReadBufferSize,
		maxMessage:   o.MaxHTTPBufferSize,
		writeTimeout: o.WriteTimeout,
		logger:       o.Logger,
	}
	if d := o.Deflate; d != nil {
		c.deflate = true
		c.threshold = d.Threshold
		if c.threshold == 0 {
			c.threshold = 1024
		}
		c.level = d.Level
		if c.level < flate.HuffmanOnly || c.level > flate.BestCompression {
			o.Logger.Warn("websocket: compression level out of range, using flate.BestSpeed",
				"level", c.level, "min", flate.HuffmanOnly, "max", flate.BestCompression)
			c.level = 0
		}
		if c.level == 0 {
			c.level = flate.BestSpeed
		}
	}
	c.readPool.New = func() any {
		b := make([]byte, readAheadSize)
		return &b
	}
	return c
}

// minReadBufferSize is the least ReadBufferSize: a Go allocation size
// class just above the 256 bytes gorilla/websocket requires of a reader it
// takes over.
const minReadBufferSize = 288

// Conn is an upgraded WebSocket connection not yet bound to a session.
type Conn struct {
	ws     *gorilla.Conn
	batch  *batchConn
	reader *bufio.Reader // what gorilla reads frames from, or nil
	base64 bool
}

// inputWaiting reports whether input for another frame has already been
// read from the connection. Only the read goroutine may call it.
func (c *Conn) inputWaiting() bool {
	return c.batch.readPending() || (c.reader != nil && c.reader.Buffered() > 0)
}

// Upgrade completes the WebSocket handshake for r. Headers already set on
// w (CORS, Set-Cookie) are sent with the 101 response. On failure the request
// has been answered (400 or 403 with a text message) and the error says why.
// A request with b64=1 gets binary messages as base64 text frames.
func (c *Config) Upgrade(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	h := &batchHijacker{ResponseWriter: w, pool: &c.batchPool, readPool: &c.readPool, readSize: c.readSize, chunk: c.writeTimeout}
	ws, err := c.upgrader.Upgrade(h, r, w.Header())
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(c.maxMessage)
	if c.deflate {
		// A no-op unless the client offered the extension.
		ws.SetCompressionLevel(c.level)
	}
	return &Conn{ws: ws, batch: h.conn, reader: h.reader, base64: r.URL.Query().Get("b64") != ""}, nil
}

// Transport is a WebSocket transport for one session.
//
// It ends once, on Close, after writing a last batch, or when the
// connection fails or the peer breaks the protocol. It then tells the
// session with TransportClosed, as soon as no goroutine of its, and no
// caller of Wake writing on the spot, is inside a Session call, and closes
// Done. Orderly ends send a close frame first: a bare one for Close and a
// last batch, and one with a status code for a peer that broke the
// protocol (1002, 1007 or 1008).
type Transport struct {
	cfg  *Config
	conn *Conn
	sess transport.Session

	mu sync.Mutex
	// done is guarded by mu: the channel Done returned, closed after
	// TransportClosed returned; made by the first call of Done, so that a
	// transport nobody waits for holds none.
	done chan struct{}
	// reported is guarded by mu: TransportClosed returned.
	reported bool
	// writing is guarded by mu: a writer is active, either a writer
	// goroutine or a caller of Wake writing on the spot. There is at most
	// one at a time.
	writing bool
	again   bool // guarded by mu: Wake was called while writing
	// delivering is guarded by mu: the read goroutine is inside
	// Session.Deliver, where the application's handlers run.
	delivering bool
	// spotTaken is guarded by mu: during the current delivery, a caller of
	// Wake already wrote on the spot; later ones leave their packets to a
	// writer goroutine, which coalesces them.
	spotTaken bool
	// pipelined is guarded by mu: the read goroutine is delivering packets
	// that arrived together (a client that sent several at once): it held
	// input for another packet when it started delivering the current one,
	// or, between two deliveries, when it started the last.
	pipelined bool
	// closeSent is guarded by mu: a close frame has been written, or is
	// being written as the end of the last batch.
	closeSent bool
	// stash and stashLast are guarded by mu: packets a caller of Wake took
	// but left to a writer goroutine to write. (The flags of the struct
	// are side by side, for its size.)
	stashLast bool
	stash     []transport.Packet
	// deadline is the write deadline set on the connection; used only by
	// the writer of the moment (handed over under mu).
	deadline time.Time
	// inflated bounds what the read goroutine reads of one message, which
	// a compressed frame's length does not; used by that goroutine only.
	inflated io.LimitedReader
	// busy and parkedAt are used by the read goroutine only (one at a
	// time; see parkIfIdle): busy is set while messages keep coming
	// within busyWait of each other, and parkedAt is when the reader
	// parked the connection (Unix nanoseconds), until the poller starts
	// the next one, or 0.
	busy     bool
	parkedAt int64
	// life is guarded by mu. Its users are the reader (a read goroutine,
	// or the connection parked with the Config's poller) and writer
	// goroutines, and callers of Wake writing on the spot; its reason is
	// nil for Close or a last batch.
	life lifecycle.Tracker
	// park is guarded by the Config's poller's mu.
	park parkState
}

// New binds conn to sess. Call Start to begin reading.
func New(cfg *Config, conn *Conn, sess transport.Session) *Transport {
	return &Transport{cfg: cfg, conn: conn, sess: sess, busy: true}
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

// LastProgress returns when bytes last moved on the connection: read from
// the peer, or taken by it. It is the zero time if none has. A peer that is
// still sending a large frame, or still taking one, is alive even if its
// pong is late: it is queued behind those bytes.
func (t *Transport) LastProgress() time.Time { return t.conn.batch.lastProgress() }

// Done is closed once the transport has ended and the session has been
// told.
func (t *Transport) Done() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done == nil {
		t.done = make(chan struct{})
		if t.reported {
			close(t.done)
		}
	}
	return t.done
}

// Close writes a close frame if that can be done without waiting (and no
// writer is in the middle of a batch), then closes the connection, which
// ends both goroutines. TransportClosed(nil) follows once neither is inside
// a Session call, which may be before Close returns. Close never blocks on
// the peer.
func (t *Transport) Close() error {
	t.end(nil)
	return nil
}

// Fail ends the transport as if its peer had broken the protocol with
// reason: the connection is closed after a close frame with the status
// reason calls for (1008 for a reason wrapping
// transport.ErrUnexpectedPacket, 1002 for transport.ErrInvalidPacket),
// and TransportClosed reports reason. A server relaying a session's
// WebSocket for another server of a cluster ends it with Fail as the
// session's own transport ended there. It does nothing once the transport
// has ended.
func (t *Transport) Fail(reason error) {
	t.end(reason)
}

// end ends the transport for reason, once: it sends the close frame the
// reason calls for, if any, and closes the connection.
func (t *Transport) end(reason error) {
	t.mu.Lock()
	if t.closeSent && errors.Is(reason, transport.ErrPeerClosed) {
		// The peer answering our close frame: the end is ours.
		reason = nil
	}
	first, report := t.life.EndLocked(reason)
	frame, send := closeFrameFor(reason)
	send = send && first && !t.closeSent
	if send {
		t.closeSent = true
	}
	t.mu.Unlock()
	if !first {
		return
	}
	if send {
		t.conn.batch.writeFinal(frame)
	}
	t.conn.ws.Close()
	if t.cfg.idle.unpark(t) {
		// The reader was parked: it leaves now, and reports the end if it
		// is the last user.
		t.exit()
	}
	if report {
		t.report(reason)
	}
}

// closeFrameFor returns the close frame that ends a connection for reason,
// and whether one is sent: none when the connection failed, or when
// gorilla/websocket already sent one (the peer's close frame answered, a
// message over the size limit refused with 1009).
func closeFrameFor(reason error) ([]byte, bool) {
	var code int
	var text string
	switch {
	case reason == nil:
		// A close frame with no status, as the reference server sends.
		return []byte{0x88, 0x00}, true
	case errors.Is(reason, errInflatedTooLarge):
		code, text = gorilla.CloseMessageTooBig, "message too big"
	case errors.Is(reason, errInvalidUTF8), errors.Is(reason, errCorruptDeflate):
		code, text = gorilla.CloseInvalidFramePayloadData, "invalid UTF-8 in text frame"
	case errors.Is(reason, transport.ErrInvalidPacket):
		code, text = gorilla.CloseProtocolError, "invalid Engine.IO packet"
	case errors.Is(reason, transport.ErrUnexpectedPacket):
		code, text = gorilla.ClosePolicyViolation, "unexpected Engine.IO packet"
	default:
		return nil, false
	}
	payload := gorilla.FormatCloseMessage(code, text)
	return append([]byte{0x88, byte(len(payload))}, payload...), true
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
	t.mu.Lock()
	t.reported = true
	if t.done != nil {
		close(t.done)
	}
	t.mu.Unlock()
}

// Wake makes sure the queued packets get written. It never blocks on the
// network.
//
// If a writer is active, it takes the new packets before it stops. If not,
// the first Wake while the read goroutine delivers a packet (a handler
// replying) writes them on the spot, in one system call that does not wait
// for the socket, as a plain echo server would: the reply leaves before the
// handler returns, and costs no goroutine hand-off. Any other Wake starts a
// writer goroutine, which ends when the queue is empty: packets queued in
// a burst (a handler or an application emitting many, a broadcast, the
// replies to packets a client sent together) then share writes. What the
// socket does not take at once, and a broadcast, a large or a last batch
// met on the spot, are left to a writer goroutine too.
func (t *Transport) Wake() { t.wake(false) }

// WakeOnTheSpot is Wake for a caller that queued a packet of its own and
// holds nothing the write could delay, such as the session's heartbeat
// timer with a ping: if no writer is active, it writes what is queued on
// the spot, whether or not the read goroutine is delivering a packet, in
// one system call that does not wait for the socket. A lone ping then
// costs no goroutine. It never blocks on the network.
func (t *Transport) WakeOnTheSpot() { t.wake(true) }

// wake is Wake, and WakeOnTheSpot with own.
func (t *Transport) wake(own bool) {
	t.mu.Lock()
	if t.writing {
		t.again = true
		t.mu.Unlock()
		return
	}
	if !t.life.EnterLocked() {
		t.mu.Unlock()
		return
	}
	t.writing, t.again = true, false
	replying := t.delivering && !t.pipelined && !t.spotTaken
	onTheSpot := (own || replying) && t.conn.batch.raw != nil
	if onTheSpot && replying {
		t.spotTaken = true
	}
	t.mu.Unlock()
	if onTheSpot {
		t.writeOnTheSpot()
	} else {
		go t.writeLoop()
	}
}

// pingFrame is the frame of a heartbeat ping: "2" in a text frame.
var pingFrame = []byte{0x81, 0x01, '2'}

// maxOnTheSpot bounds the bytes a caller of Wake writes on the spot.
const maxOnTheSpot = maxBatch / 2

// writeOnTheSpot is Wake's writer, on the caller's goroutine: the caller
// is registered with life and writing is set.
func (t *Transport) writeOnTheSpot() {
	pkts, last := t.sess.Take(t)
	if len(pkts) > 0 && (last || firstShared(pkts) != nil || packetBytes(pkts) > maxOnTheSpot) {
		t.mu.Lock()
		t.stash, t.stashLast = pkts, last
		t.mu.Unlock()
		go t.writeLoop()
		return
	}
	if len(pkts) > 0 {
		var carried bool
		var err error
		if len(pkts) == 1 && pkts[0].Type == transport.Ping && len(pkts[0].Data) == 0 {
			carried, err = t.conn.batch.writeSmall(pingFrame)
		} else {
			carried, err = t.writePackets(pkts, false, false)
		}
		if err != nil {
			t.mu.Lock()
			t.writing = false
			t.mu.Unlock()
			t.end(err)
			t.leaveOnTheSpot()
			return
		}
		if carried {
			go t.writeLoop()
			return
		}
	}
	t.mu.Lock()
	if t.again {
		t.mu.Unlock()
		go t.writeLoop()
		return
	}
	t.writing = false
	t.mu.Unlock()
	t.leaveOnTheSpot()
}

// leaveOnTheSpot unregisters a caller of Wake. Should the transport have
// ended meanwhile with this caller the last user, the session is told from
// a goroutine of its own: the caller may be any goroutine (an
// application's, emitting), and must not run the session's close handling.
func (t *Transport) leaveOnTheSpot() {
	t.mu.Lock()
	report, reason := t.life.LeaveLocked()
	t.mu.Unlock()
	if report {
		go t.report(reason)
	}
}

// maxCoalesceRounds bounds how many times a writer lets other goroutines
// run before it writes; see takeCoalesced.
const maxCoalesceRounds = 16

// writeLoop is the writer goroutine: it writes what a caller of Wake left,
// then queued packets, until the session has none left for this
// transport, or the transport ends. It is registered with life, and
// writing is set, when it starts.
func (t *Transport) writeLoop() {
	defer t.exit()
	if err := t.conn.batch.flushCarry(); err != nil {
		t.mu.Lock()
		t.writing = false
		t.mu.Unlock()
		t.end(err)
		return
	}
	for {
		t.mu.Lock()
		if _, ended := t.life.EndedLocked(); ended {
			t.writing = false
			t.mu.Unlock()
			return
		}
		t.again = false
		pkts, last := t.stash, t.stashLast
		t.stash, t.stashLast = nil, false
		t.mu.Unlock()
		if !last {
			pkts, last = t.takeCoalesced(pkts)
		}
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
		_, err := t.writePackets(pkts, last, true)
		if err != nil || last {
			t.mu.Lock()
			t.writing = false
			t.mu.Unlock()
			t.end(err)
			return
		}
	}
}

// takeCoalesced takes the queued packets, after pkts if there are any.
// Before it returns, it lets the other runnable goroutines run, and takes
// again, while either of these goes on, up to maxCoalesceRounds rounds and
// maxBatch bytes:
//
//   - the read goroutine is delivering packets, or is between two packets
//     that arrived together: their replies then share this write;
//   - the packets include a broadcast (one framed once for many
//     connections) and the server that sent it is still handing out a
//     broadcast (transport.Burst), so that an application's consecutive
//     broadcasts leave in one write per connection. A broadcast without a
//     Burst (not sent by a server) is held for one round, then while each
//     round brings more.
//
// Once the server has finished handing out, a broadcast's writer does not
// wait: a round lasts as long as the other runnable goroutines take (on a
// busy server, the writers of the same broadcast's other connections, a
// few microseconds each), so one round would hold every connection's
// write back until all the others had taken theirs, and waiting while
// rounds bring more would let paced broadcasts, which arrive while it
// waits, keep it waiting round after round. Broadcasts that reach a
// connection before its writer runs (a server that falls behind) still
// leave together, in the writer's first take. On an idle machine a round
// takes nothing, and the packets leave at once.
func (t *Transport) takeCoalesced(pkts []transport.Packet) ([]transport.Packet, bool) {
	if len(pkts) == 0 {
		var last bool
		if pkts, last = t.sess.Take(t); last || len(pkts) == 0 {
			return pkts, last
		}
	}
	shared := firstShared(pkts)
	size := packetBytes(pkts)
	brought := true // for a broadcast without a Burst: the last round brought more
	for round := range maxCoalesceRounds {
		if size >= maxBatch {
			break
		}
		replies := t.readerBusy()
		if !replies && !broadcastPending(shared, round, brought) {
			break
		}
		runtime.Gosched()
		more, last := t.sess.Take(t)
		brought = len(more) > 0
		if !brought {
			continue
		}
		pkts = append(pkts, more...)
		if last {
			return pkts, true
		}
		size += packetBytes(more)
		if shared == nil {
			shared = firstShared(more)
		}
	}
	return pkts, false
}

// broadcastPending reports whether a writer holding the broadcast packet
// cached in shared (nil if it holds none) takes another round: while its
// server is handing out a broadcast or, without a Burst, in the first
// round and then while rounds bring more.
func broadcastPending(shared *transport.FrameCache, round int, brought bool) bool {
	switch {
	case shared == nil:
		return false
	case shared.Burst != nil:
		return shared.Burst.Active()
	case round == 0:
		return true
	default:
		return brought
	}
}

// readerBusy reports whether the read goroutine is delivering packets, or
// is between two of a run that arrived together.
func (t *Transport) readerBusy() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.delivering || t.pipelined
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

// writePackets writes one frame per packet, then a bare close frame if
// last, in one batch. With wait, it waits for the socket as needed (a
// writer goroutine); without, it makes one attempt that does not, and
// carried reports that bytes are left for flushCarry.
//
// The batch is written from this frame, not from gatherPackets' deeper
// one: a writer goroutine starts with a small stack, and the system call's
// path below would otherwise make it grow (a stack copy per writer).
func (t *Transport) writePackets(pkts []transport.Packet, last, wait bool) (carried bool, err error) {
	t.conn.batch.begin()
	err = t.gatherPackets(pkts, last)
	var flushErr error
	if wait {
		flushErr = t.conn.batch.end()
	} else {
		carried, flushErr = t.conn.batch.endNow()
	}
	if err == nil {
		err = flushErr
	}
	return carried, err
}

// gatherPackets frames pkts, then a bare close frame if last, into the
// connection's batch, which the caller begins and ends.
func (t *Transport) gatherPackets(pkts []transport.Packet, last bool) error {
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
	var text []byte
	for _, p := range pkts {
		if t.cfg.deflate {
			// A no-op unless the client accepted the extension.
			ws.EnableWriteCompression(t.cfg.compresses(p, t.conn.base64))
		}
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

// compresses reports whether p is sent compressed when the peer accepted
// permessage-deflate: unless it is marked NoCompress, when its frame's
// payload reaches the threshold.
func (c *Config) compresses(p transport.Packet, base64 bool) bool {
	if p.NoCompress {
		return false
	}
	if c.threshold < 0 {
		return true
	}
	n := len(p.Data)
	if !p.Binary || base64 {
		n = transport.EncodedLen(p)
	}
	return n >= c.threshold
}

// errInflatedTooLarge ends a connection whose peer sent a compressed
// message that inflates past the size limit (close status 1009).
var errInflatedTooLarge = fmt.Errorf("websocket: compressed message inflates past the limit: %w", ErrMessageTooLarge)

// errCorruptDeflate ends a connection whose peer sent a compressed message
// that does not inflate (close status 1007, as the ws library sends).
var errCorruptDeflate = fmt.Errorf("websocket: compressed message does not inflate: %w", transport.ErrInvalidPacket)

// readMessage reads the next message whole. The size limit set on the
// connection bounds each frame's payload as it arrives, which for a
// compressed message is not what it inflates to: that is bounded here.
func (t *Transport) readMessage() (int, []byte, error) {
	mt, r, err := t.conn.ws.NextReader()
	if err != nil {
		return 0, nil, err
	}
	t.inflated.R, t.inflated.N = r, t.cfg.maxMessage+1
	data, err := io.ReadAll(&t.inflated)
	t.inflated.R = nil
	var corrupt flate.CorruptInputError
	switch {
	case errors.As(err, &corrupt):
		err = errCorruptDeflate
	case err == nil && int64(len(data)) > t.cfg.maxMessage:
		err = errInflatedTooLarge
	}
	return mt, data, err
}

// errInvalidUTF8 ends a connection whose peer sent a text frame that is
// not valid UTF-8, which RFC 6455 forbids (close status 1007).
var errInvalidUTF8 = fmt.Errorf("websocket: text frame is not valid UTF-8: %w", transport.ErrInvalidPacket)

// readLoop reads frames and delivers them to the session in order. When
// no input is waiting between two messages, it parks the connection with
// the Config's poller and returns; the poller calls it again once input
// arrives (see idlePoller).
func (t *Transport) readLoop() {
	parked := false
	defer func() {
		if !parked {
			t.exit()
		}
	}()
	for {
		if parked = t.parkIfIdle(); parked {
			return
		}
		mt, data, err := t.readMessage()
		if err != nil {
			t.end(readError(err))
			return
		}
		if mt == gorilla.TextMessage && !utf8.Valid(data) {
			t.end(errInvalidUTF8)
			return
		}
		p, err := transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
		if err != nil {
			t.end(err)
			return
		}
		waiting := t.conn.inputWaiting()
		t.mu.Lock()
		if _, ended := t.life.EndedLocked(); ended {
			t.mu.Unlock()
			return
		}
		t.delivering, t.pipelined, t.spotTaken = true, waiting, false
		t.mu.Unlock()
		err = t.sess.Deliver(t, p)
		t.mu.Lock()
		t.delivering = false
		t.mu.Unlock()
		if err != nil {
			if errors.Is(err, transport.ErrUnexpectedPacket) {
				// The packet broke the protocol: the transport ends, and
				// tells the session why.
				t.end(err)
			}
			// Otherwise the session is closing, and ends the transport.
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
