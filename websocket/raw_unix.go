//go:build unix

package websocket

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawConn returns the raw connection under conn, for readAhead, writeNow
// and the idle poller, or nil when there is none (a TLS connection, say).
func rawConn(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// readAhead reads what has arrived into a buffer from the read pool, which
// it returns with the number of bytes read (at least one) or an error.
// With wait, it waits until the connection is readable, holding no buffer;
// without, it returns a nil buffer and no error when nothing has arrived.
func (c *batchConn) readAhead(wait bool) (buf *[]byte, n int, err error) {
	var rerr error
	err = c.raw.Read(func(fd uintptr) bool {
		buf = c.readPool.Get().(*[]byte)
		for {
			n, rerr = syscall.Read(int(fd), *buf)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			// Nothing has arrived: wait without the buffer.
			c.readPool.Put(buf)
			buf = nil
			return !wait
		}
		return true
	})
	switch {
	case err != nil:
	case rerr == syscall.EAGAIN:
		return nil, 0, nil
	case rerr != nil:
		err = &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(),
			Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", rerr)}
	case n == 0:
		err = io.EOF
	}
	if err != nil {
		if buf != nil {
			c.readPool.Put(buf)
		}
		return nil, 0, err
	}
	return buf, n, nil
}

// writeNow makes one attempt to write b without waiting for the
// connection to become writable, and returns how much was written: less
// than len(b), possibly nothing, when the socket's send buffer is full.
// The write deadline, which bounds waiting, does not apply: an attempt
// that does not wait is made even once the last deadline set has passed.
// Callers hold mu, which orders every write to the connection.
func (c *batchConn) writeNow(b []byte) (int, error) {
	var n int
	var werr error
	err := c.raw.Control(func(fd uintptr) {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				break
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case werr == syscall.EAGAIN:
		return 0, nil
	case werr != nil:
		return 0, &net.OpError{Op: "write", Net: c.LocalAddr().Network(), Source: c.LocalAddr(),
			Addr: c.RemoteAddr(), Err: os.NewSyscallError("write", werr)}
	}
	return max(n, 0), nil
}
