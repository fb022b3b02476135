package websocket

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// readAheadSize is the size of the pooled buffers batchConn reads into.
const readAheadSize = 4096

// finalWriteWait bounds the write of a close frame on a connection that
// cannot be written to without waiting (no raw connection).
const finalWriteWait = 50 * time.Millisecond

// maxBatch bounds the bytes gathered before a batch is written out; frames
// at least this large are written directly.
const maxBatch = 64 << 10

// writeChunk is the most bytes written to the connection at once. A large
// frame goes out in chunks, each with the write timeout of its own and each
// recording progress, so that a slow peer that is taking a large frame is
// neither cut by the deadline nor taken for a dead peer by the heartbeat.
const writeChunk = 32 << 10

// batchConn is the connection gorilla/websocket writes to. Between begin and
// end, what gorilla writes (one Write per frame) is gathered in a pooled
// buffer and sent with one system call, so a writer draining many packets
// pays for one write, not one per frame. Outside a batch, writes go straight
// through. Control frames gorilla writes from the reader goroutine (pongs,
// close) take the same lock, so frame order on the wire is kept. An idle
// connection holds no buffer.
//
// A batch may also end with endNow, which makes one write attempt that does
// not wait for the socket: what the kernel does not take stays in the
// buffer (the carry), and goes out ahead of anything written later.
type batchConn struct {
	net.Conn
	pool *sync.Pool

	// raw, when not nil, is the connection readAhead waits on without a
	// buffer and writeNow writes to without waiting.
	raw syscall.RawConn

	// The read side, used by the read goroutine only. ahead holds a buffer
	// from readPool while the bytes read into it (pending) are not all
	// consumed.
	readPool *sync.Pool
	ahead    *[]byte
	pending  []byte

	// testHook, if set (by tests, before the connection is used), sees
	// each read ('R', before it may wait) and each write to the network
	// ('W', with the bytes), in order.
	testHook func(op byte, p []byte)

	// chunkTimeout is the write timeout each chunk of a large write gets
	// (the transport's WriteTimeout); 0 writes large frames in one go.
	chunkTimeout time.Duration
	// progress is when bytes were last read from the connection, or the
	// peer was seen taking what was written (see lastProgress), in Unix
	// nanoseconds.
	progress atomic.Int64
	// queued is the socket's send queue the last time lastProgress looked.
	queued atomic.Int64

	mu       sync.Mutex
	batching bool      // guarded by mu
	buf      *[]byte   // guarded by mu: the pending bytes while batching, or the carry
	deadline time.Time // guarded by mu: the write deadline asked for
	applied  time.Time // guarded by mu: the write deadline set on Conn
}

// SetWriteDeadline implements net.Conn. gorilla/websocket sets the
// deadline before every frame; within a batch it is only recorded, and set
// on the connection once, at flush, if it changed.
func (c *batchConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	if c.batching {
		return nil
	}
	return c.applyDeadlineLocked()
}

func (c *batchConn) applyDeadlineLocked() error {
	if c.deadline.Equal(c.applied) {
		return nil
	}
	c.applied = c.deadline
	return c.Conn.SetWriteDeadline(c.deadline)
}

// Read implements net.Conn. gorilla/websocket reads through a small
// buffer of its own, so Read is called when that is used up. Bytes already
// read ahead are served first. Otherwise, on a raw connection, the read
// goroutine waits holding no buffer and reads what arrived into a pooled
// one, so that an idle connection holds no read buffer.
func (c *batchConn) Read(p []byte) (int, error) {
	if c.ahead != nil {
		return c.consume(p), nil
	}
	if c.testHook != nil {
		c.testHook('R', nil)
	}
	if c.raw == nil || len(p) >= readAheadSize {
		n, err := c.Conn.Read(p)
		if n > 0 {
			c.moved()
		}
		return n, err
	}
	buf, n, err := c.readAhead()
	if err != nil {
		return 0, err
	}
	c.moved()
	c.ahead, c.pending = buf, (*buf)[:n]
	return c.consume(p), nil
}

// readPending reports whether bytes read from the connection are waiting
// to be consumed. Only the read goroutine may call it.
func (c *batchConn) readPending() bool { return len(c.pending) > 0 }

// consume copies pending bytes into p, and returns the buffer to the pool
// once they are all consumed.
func (c *batchConn) consume(p []byte) int {
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	if len(c.pending) == 0 {
		c.readPool.Put(c.ahead)
		c.ahead, c.pending = nil, nil
	}
	return n
}

// Write implements net.Conn.
func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.batching {
		if c.buf != nil {
			// A carry is waiting: this frame (a control frame from the
			// reader) goes out after it.
			*c.buf = append(*c.buf, p...)
			err := c.flushLocked()
			c.releaseLocked()
			return len(p), err
		}
		return c.writeConn(p)
	}
	if len(*c.buf)+len(p) > maxBatch {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) >= maxBatch {
			if err := c.applyDeadlineLocked(); err != nil {
				return 0, err
			}
			return c.writeConn(p)
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// begin starts gathering writes, after the carry if there is one.
func (c *batchConn) begin() {
	c.mu.Lock()
	c.batching = true
	if c.buf == nil {
		if b, ok := c.pool.Get().(*[]byte); ok {
			c.buf = b
		} else {
			b := make([]byte, 0, 4096)
			c.buf = &b
		}
	}
	c.mu.Unlock()
}

// end writes what was gathered and stops gathering.
func (c *batchConn) end() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.flushLocked()
	c.batching = false
	c.releaseLocked()
	return err
}

// endNow stops gathering and makes one attempt to write what was gathered
// that does not wait for the socket. What is not written stays as the
// carry, and carried reports so: someone must then call flushCarry.
// Without a raw connection it writes as end does.
func (c *batchConn) endNow() (carried bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batching = false
	if c.raw == nil {
		err = c.flushLocked()
		c.releaseLocked()
		return false, err
	}
	n, err := c.writeNowLocked(*c.buf)
	if err != nil {
		*c.buf = (*c.buf)[:0]
		c.releaseLocked()
		return false, err
	}
	rest := copy(*c.buf, (*c.buf)[n:])
	*c.buf = (*c.buf)[:rest]
	if rest > 0 {
		return true, nil
	}
	c.releaseLocked()
	return false, nil
}

// flushCarry writes the carry left by endNow, if any, waiting for the
// socket as end does.
func (c *batchConn) flushCarry() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil || c.batching {
		return nil
	}
	err := c.flushLocked()
	c.releaseLocked()
	return err
}

// releaseLocked gives the empty buffer back to the pool, unless it grew
// too large to keep.
func (c *batchConn) releaseLocked() {
	if c.buf == nil {
		return
	}
	if cap(*c.buf) <= maxBatch {
		c.pool.Put(c.buf)
	}
	c.buf = nil
}

func (c *batchConn) flushLocked() error {
	if len(*c.buf) == 0 {
		return nil
	}
	// The gathered bytes are dropped whether or not they went out: after a
	// failure the connection is done for, and the buffer goes back to the
	// pool, where stale bytes would precede another connection's frames.
	defer func() { *c.buf = (*c.buf)[:0] }()
	if err := c.applyDeadlineLocked(); err != nil {
		return err
	}
	_, err := c.writeConn(*c.buf)
	return err
}

// moved records that bytes moved now.
func (c *batchConn) moved() { c.progress.Store(time.Now().UnixNano()) }

// lastProgress returns when bytes were last read from the connection, or
// the peer was seen taking what was written, or the zero time. Writing is
// no sign of the peer: a kernel takes small writes whether or not anyone
// is there. Only these are: a chunk of a large write accepted after the
// first (the ones before drained), and a send queue shorter than at the
// last look (the peer acknowledged bytes; a large write that the kernel
// took at once drains at the link's pace).
func (c *batchConn) lastProgress() time.Time {
	if q := int64(c.unsent()); q >= 0 {
		if prev := c.queued.Swap(q); q < prev {
			c.moved()
		}
	}
	if n := c.progress.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// writeConn writes p to the connection, waiting as needed; more than
// writeChunk bytes go out in chunks, each after the first with
// chunkTimeout of its own. Callers hold mu.
func (c *batchConn) writeConn(p []byte) (int, error) {
	if c.testHook != nil {
		c.testHook('W', p)
	}
	written := 0
	for len(p) > writeChunk && c.chunkTimeout > 0 {
		n, err := c.Conn.Write(p[:writeChunk])
		written += n
		if err != nil {
			return written, err
		}
		if written > writeChunk {
			// The kernel took a chunk after the first: the peer is
			// taking the frame.
			c.moved()
		}
		p = p[writeChunk:]
		// The deadline set here is not the one asked for: applied records
		// it, so that the next batch sets its own.
		c.applied = time.Now().Add(c.chunkTimeout)
		if err := c.Conn.SetWriteDeadline(c.applied); err != nil {
			return written, err
		}
	}
	n, err := c.Conn.Write(p)
	return written + n, err
}

// writeNowLocked is writeNow, seen by the test hook (which sees what is
// offered, whether or not the socket takes it all).
func (c *batchConn) writeNowLocked(p []byte) (int, error) {
	if c.testHook != nil {
		// Before the write, as for writeConn: a test that reads what the
		// peer received sees the write logged.
		c.testHook('W', p)
	}
	return c.writeNow(p)
}

// writeFinal makes one attempt, without waiting for the socket, to write
// frame (a close frame) after the carry, unless a batch is being
// gathered: that writer's frames would be cut short. The connection is
// about to be closed, so whatever is not written is dropped.
func (c *batchConn) writeFinal(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.batching {
		return
	}
	out := frame
	if c.buf != nil {
		*c.buf = append(*c.buf, frame...)
		out = *c.buf
		defer func() {
			*c.buf = (*c.buf)[:0]
			c.releaseLocked()
		}()
	}
	if c.raw != nil {
		c.writeNowLocked(out)
		return
	}
	// No raw connection: a write bounded by a short deadline instead.
	c.Conn.SetWriteDeadline(time.Now().Add(finalWriteWait))
	c.applied = time.Time{}
	c.writeConn(out)
}

// batchHijacker hands gorilla/websocket a batchConn in place of the
// hijacked connection, and a buffered reader of its own over it, whose
// Buffered count tells the transport whether more input is waiting.
type batchHijacker struct {
	http.ResponseWriter
	pool     *sync.Pool    // write buffers
	readPool *sync.Pool    // read-ahead buffers
	readSize int           // size of the buffered reader
	chunk    time.Duration // batchConn.chunkTimeout
	conn     *batchConn
	reader   *bufio.Reader
}

// Hijack implements http.Hijacker.
func (h *batchHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: conn, pool: h.pool, readPool: h.readPool, raw: rawConn(conn), chunkTimeout: h.chunk}
	if brw.Reader.Buffered() > 0 {
		// The client sent data before the handshake completed:
		// gorilla/websocket refuses that, seeing it buffered here.
		return h.conn, brw, nil
	}
	// gorilla/websocket reads through a hijacked reader larger than 256
	// bytes (with Upgrader.ReadBufferSize 0) instead of making its own.
	h.reader = bufio.NewReaderSize(h.conn, h.readSize)
	return h.conn, bufio.NewReadWriter(h.reader, brw.Writer), nil
}
