//go:build !linux

package websocket

// idlePoller parks idle connections on Linux only; elsewhere a reader waits
// for input in its goroutine.
type idlePoller struct{}

// parkState is empty where connections are not parked.
type parkState struct{}

func newIdlePoller() *idlePoller { return nil }

// park reports false: the reader waits in its goroutine.
func (*idlePoller) park(*Transport) bool { return false }

// unpark reports false: no reader is ever parked.
func (*idlePoller) unpark(*Transport) bool { return false }
