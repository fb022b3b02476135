package websocket

import (
	"bufio"
	"errors"
	"os"
	"time"
)

// busyWait is how long a busy reader waits for input in its goroutine,
// between two messages, before it parks the connection. A reader is busy
// when its last message came within busyWait of the one before: under
// steady traffic it keeps its goroutine and its stack, while a connection
// that has gone quiet holds neither.
const busyWait = 100 * time.Millisecond

// parkIfIdle is where the read goroutine stands between two messages: if
// no input is waiting, it waits for some, in its goroutine for a busy
// reader (up to busyWait), or parks the connection with the Config's
// poller, and reports whether it did. A parked reader's goroutine ends;
// the poller starts another once input arrives.
//
// A connection is parked only where its reader knows all the input read
// so far: a raw connection, read through the transport's own buffered
// reader. Others wait for input inside gorilla/websocket, as before.
func (t *Transport) parkIfIdle() bool {
	c := t.conn
	b := c.batch
	if t.cfg.idle == nil || c.reader == nil || b.raw == nil {
		return false
	}
	resumed := t.parkedAt != 0
	if resumed {
		// Just started by the poller: busy if input came soon after the
		// connection was parked.
		t.takeReaderBuffer()
		t.busy = time.Duration(time.Now().UnixNano()-t.parkedAt) < busyWait
		t.parkedAt = 0
	}
	if c.inputWaiting() || b.readErr != nil {
		return false
	}
	if resumed {
		if b.readNow() {
			return false
		}
	} else if t.busy {
		if b.waitInput(busyWait) {
			return false
		}
		t.busy = false
	} else if !b.drained && b.readNow() {
		return false
	}
	// The socket held nothing at the last read: epoll's check when the
	// connection is registered stands in for another read.
	b.drained = false
	t.parkedAt = time.Now().UnixNano()
	t.releaseReaderBuffer()
	if t.cfg.idle.park(t) {
		return true
	}
	t.takeReaderBuffer()
	t.parkedAt = 0
	return false
}

// releaseReaderBuffer gives the buffer of the connection's buffered reader,
// empty between two messages, to the Config's pool: a parked connection
// holds none. The reader is left zero, and must not be read from until
// takeReaderBuffer.
func (t *Transport) releaseReaderBuffer() {
	r := t.conn.reader
	spare := new(bufio.Reader)
	*spare = *r
	*r = bufio.Reader{}
	t.cfg.readers.Put(spare)
}

// takeReaderBuffer gives the connection's buffered reader a buffer again,
// from the Config's pool or a new one.
func (t *Transport) takeReaderBuffer() {
	r := t.conn.reader
	if spare, ok := t.cfg.readers.Get().(*bufio.Reader); ok {
		*r = *spare
	} else {
		*r = *bufio.NewReaderSize(t.conn.batch, t.cfg.readSize)
	}
	r.Reset(t.conn.batch)
}

// hook calls the test hook, if set, for op.
func (c *batchConn) hook(op byte) {
	if c.testHook != nil {
		c.testHook(op, nil)
	}
}

// took records n bytes read into buf, from the read pool, as pending.
func (c *batchConn) took(buf *[]byte, n int) {
	c.moved()
	c.drained = n < len(*buf)
	c.ahead, c.pending = buf, (*buf)[:n]
}

// readNow reads what has arrived, without waiting, for Read to serve: the
// bytes, or the error met. It reports false if nothing has arrived. Only
// with a raw connection, and only when nothing read is pending.
func (c *batchConn) readNow() bool {
	buf, n, err := c.readAhead(false)
	if c.idleDeadlineMet(err) {
		buf, n, err = c.readAhead(false)
	}
	if buf == nil && err == nil {
		return false
	}
	c.hook('R')
	if err != nil {
		c.readErr = err
		return true
	}
	c.took(buf, n)
	return true
}

// waitInput is readNow waiting up to about d (between d/2 and d) for input
// to arrive; it reports false if none did.
//
// The read deadline it sets stays: consecutive waits share it until less
// than d/2 of it is left, so that a reader under steady traffic does not
// reset the connection's timer for each message. A read made for a message
// in progress that meets it clears it (idleDeadlineMet).
func (c *batchConn) waitInput(d time.Duration) bool {
	if now := time.Now(); time.Duration(c.idleDeadline-now.UnixNano()) < d/2 {
		deadline := now.Add(d)
		c.idleDeadline = deadline.UnixNano()
		if err := c.Conn.SetReadDeadline(deadline); err != nil {
			c.readErr = err
			return true
		}
	}
	buf, n, err := c.readAhead(true)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	c.hook('R')
	if err != nil {
		c.readErr = err
		return true
	}
	c.took(buf, n)
	return true
}

// idleDeadlineMet reports whether err is the deadline set by waitInput,
// which it then clears: the read that met it should wait on.
func (c *batchConn) idleDeadlineMet(err error) bool {
	if c.idleDeadline == 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	c.hook('D')
	c.idleDeadline = 0
	return c.Conn.SetReadDeadline(time.Time{}) == nil
}
