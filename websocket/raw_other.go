//go:build !unix

package websocket

import (
	"net"
	"syscall"
)

// rawConn returns nil: on this system batchConn reads and writes through
// the connection.
func rawConn(net.Conn) syscall.RawConn { return nil }

// readAhead is used only with a raw connection, which rawConn never
// returns here; it reads through the connection, waiting.
func (c *batchConn) readAhead(bool) (*[]byte, int, error) {
	buf := c.readPool.Get().(*[]byte)
	n, err := c.Conn.Read(*buf)
	if n == 0 {
		c.readPool.Put(buf)
		return nil, 0, err
	}
	return buf, n, nil
}

// writeNow is used only with a raw connection, which rawConn never
// returns here; it writes through the connection.
func (c *batchConn) writeNow(b []byte) (int, error) { return c.Conn.Write(b) }
