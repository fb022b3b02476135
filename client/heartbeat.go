package client

import "time"

// heartbeat watches for server silence. In Engine.IO v4 the server pings
// every pingInterval and waits pingTimeout for the pong; the client arms a
// single timer for pingInterval+pingTimeout at the handshake and re-arms it
// on every ping. If it fires, the server is gone: the session ends with
// "ping timeout" and the client reconnects.
//
// It also ends the session with ReasonQueueFull once enqueue reports an
// overflow, so that the session closes at once even while the writer is
// blocked on the network.
//
// Silence is counted from the last bytes that moved between client and
// server, if they are later than the last ping: a large message still
// arriving from the server holds its ping back, and one the client is
// still sending holds back its pong, and with it the server's next ping.
func (e *engine) heartbeat() {
	silence := e.pingInterval + e.pingTimeout
	t := time.NewTimer(silence)
	defer t.Stop()
	for {
		select {
		case <-e.ping:
			t.Reset(silence)
		case <-t.C:
			if last := e.lastProgress(); !last.IsZero() && time.Since(last) < silence {
				t.Reset(time.Until(last.Add(silence)))
				continue
			}
			e.terminate(ReasonPingTimeout, nil)
			return
		case <-e.overflow:
			e.terminate(ReasonQueueFull, ErrQueueFull)
			return
		case <-e.done:
			return
		}
	}
}
