//go:build !linux

package websocket

// unsent returns -1: the socket's send queue cannot be read here.
func (c *batchConn) unsent() int { return -1 }
