//go:build !unix

package websocket

import (
	"net"
	"syscall"
)

// rawReader returns nil: on this system batchConn reads through the
// connection, into its own buffer.
func rawReader(net.Conn) syscall.RawConn { return nil }

// readAhead is used only with a raw connection, which rawReader never
// returns here; it reads through the connection.
func (c *batchConn) readAhead() (*[]byte, int, error) {
	buf := c.readPool.Get().(*[]byte)
	n, err := c.Conn.Read(*buf)
	if n == 0 {
		c.readPool.Put(buf)
		return nil, 0, err
	}
	return buf, n, nil
}
