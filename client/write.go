package client

import (
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/transport"
)

// closeFrameTimeout bounds the write of the final WebSocket close frame.
const closeFrameTimeout = time.Second

// writeLoop is the session's only writer. It drains the queue in order: as
// POST batches on polling, as one frame per packet on a WebSocket. While an
// upgrade pauses polling it waits for the switch, then carries on over the
// WebSocket, so no packet is lost or reordered.
func (e *engine) writeLoop() {
	for {
		e.mu.Lock()
		if e.closed || e.full {
			e.mu.Unlock()
			return
		}
		if e.pausing && e.kind == transportPolling {
			e.mu.Unlock()
			close(e.writerPaused)
			select {
			case <-e.upgraded:
				continue
			case <-e.done:
				return
			}
		}
		batch := e.takeLocked()
		kind, ws, closing := e.kind, e.ws, e.closing
		e.mu.Unlock()

		if len(batch) == 0 {
			if closing {
				e.finishClose(kind, ws)
				return
			}
			select {
			case <-e.wake:
			case <-e.done:
				return
			}
			continue
		}
		var err error
		if kind == transportPolling {
			err = e.post(batch)
		} else {
			err = e.writeFrames(ws, batch)
		}
		if err != nil {
			e.terminate(ReasonTransportError, err)
			return
		}
	}
}

// finishClose ends an orderly close once the queue is flushed: a close
// packet on polling, as the official client sends, or a close frame on a
// WebSocket.
func (e *engine) finishClose(kind string, ws *gorilla.Conn) {
	if kind == transportPolling {
		_ = e.post([]transport.Packet{{Type: transport.Close}})
	} else {
		msg := gorilla.FormatCloseMessage(gorilla.CloseNormalClosure, "")
		_ = ws.WriteControl(gorilla.CloseMessage, msg, time.Now().Add(closeFrameTimeout))
	}
	e.terminate(ReasonClientDisconnect, nil)
}
