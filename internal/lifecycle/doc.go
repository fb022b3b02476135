// Package lifecycle tracks how a transport ends: once, for one reason, and
// reported to its session only after every caller that may still be inside
// a session call (a request handler, a reader or writer goroutine) has left.
//
// It is shared by the polling and websocket transports and imports no Ferry
// layer package.
package lifecycle
