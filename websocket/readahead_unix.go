//go:build unix

package websocket

import (
	"io"
	"net"
	"os"
	"syscall"
)

// rawReader returns the raw connection under conn, for readAhead, or nil
// when there is none (a TLS connection, say).
func rawReader(conn net.Conn) syscall.RawConn {
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
