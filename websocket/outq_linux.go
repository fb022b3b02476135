package websocket

import (
	"syscall"
	"unsafe"
)

// unsent returns how many bytes written to the connection the peer has not
// acknowledged yet (the socket's send queue), or -1 when that cannot be
// read.
func (c *batchConn) unsent() int {
	if c.raw == nil {
		return -1
	}
	n := -1
	c.raw.Control(func(fd uintptr) {
		var q int32
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&q))); errno == 0 {
			n = int(q)
		}
	})
	return n
}
