//go:build unix

package websocket

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawConn returns the raw connection under conn, for readAhead and
// writeNow, or nil when there is none (a TLS connection, say).
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

// readAhead waits until the connection is readable, holding no buffer, then
// reads what has arrived into a buffer from the read pool, which it returns
// with the number of bytes read (at least one) or an error.
func (c *batchConn) readAhead() (buf *[]byte, n int, err error) {
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
			return false
		}
		return true
	})
	switch {
	case err != nil:
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
func (c *batchConn) writeNow(b []byte) (int, error) {
	var n int
	var werr error
	err := c.raw.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				break
			}
		}
		return true // never wait: what is left is the caller's to write
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
	return n, nil
}
