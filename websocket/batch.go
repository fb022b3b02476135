package websocket

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// readAheadSize is the size of the pooled buffers batchConn reads into.
const readAheadSize = 4096

// maxBatch bounds the bytes gathered before a batch is written out; frames
// at least this large are written directly.
const maxBatch = 64 << 10

// batchConn is the connection gorilla/websocket writes to. Between begin and
// end, what gorilla writes (one Write per frame) is gathered in a pooled
// buffer and sent with one system call, so a writer draining many packets
// pays for one write, not one per frame. Outside a batch, writes go straight
// through. Control frames gorilla writes from the reader goroutine (pongs,
// close) take the same lock, so frame order on the wire is kept. An idle
// connection holds no buffer.
type batchConn struct {
	net.Conn
	pool *sync.Pool
	// beforeRead, if set, runs on the read goroutine before it waits for
	// input: the transport writes there what it deferred while delivering
	// packets.
	beforeRead func()

	// The read side, used by the read goroutine only. raw, when not nil, is
	// the connection readAhead waits on without a buffer; ahead holds a
	// buffer from readPool while the bytes read into it (pending) are not
	// all consumed.
	raw      syscall.RawConn
	readPool *sync.Pool
	ahead    *[]byte
	pending  []byte

	mu       sync.Mutex
	batching bool      // guarded by mu
	buf      *[]byte   // guarded by mu: the pending bytes while batching
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
// read ahead are served first. Otherwise, just before the read goroutine
// would wait for input, beforeRead runs; then, on a raw connection, the
// goroutine waits holding no buffer and reads what arrived into a pooled
// one, so that an idle connection holds no read buffer.
func (c *batchConn) Read(p []byte) (int, error) {
	if c.ahead != nil {
		return c.consume(p), nil
	}
	if c.beforeRead != nil {
		c.beforeRead()
	}
	if c.raw == nil || len(p) >= readAheadSize {
		return c.Conn.Read(p)
	}
	buf, n, err := c.readAhead()
	if err != nil {
		return 0, err
	}
	c.ahead, c.pending = buf, (*buf)[:n]
	return c.consume(p), nil
}

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
		return c.Conn.Write(p)
	}
	if len(*c.buf)+len(p) > maxBatch {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) >= maxBatch {
			if err := c.applyDeadlineLocked(); err != nil {
				return 0, err
			}
			return c.Conn.Write(p)
		}
	}
	*c.buf = append(*c.buf, p...)
	return len(p), nil
}

// begin starts gathering writes.
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
	if cap(*c.buf) <= maxBatch {
		c.pool.Put(c.buf)
	}
	c.buf = nil
	return err
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
	_, err := c.Conn.Write(*c.buf)
	return err
}

// batchHijacker hands gorilla/websocket a batchConn in place of the
// hijacked connection.
type batchHijacker struct {
	http.ResponseWriter
	pool     *sync.Pool // write buffers
	readPool *sync.Pool // read-ahead buffers
	conn     *batchConn
}

// Hijack implements http.Hijacker.
func (h *batchHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: conn, pool: h.pool, readPool: h.readPool, raw: rawReader(conn)}
	return h.conn, brw, nil
}
