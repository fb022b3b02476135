package client

import (
	"fmt"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/transport"
)

// readLoop is the WebSocket reader: one Engine.IO packet per frame, handed
// to receive in order. A read error ends the session with "transport
// close", as the official client reports a closed WebSocket.
func (e *engine) readLoop(ws *gorilla.Conn) {
	for {
		mt, data, err := e.readFrame(ws)
		if err != nil {
			e.terminate(ReasonTransportClose, err)
			return
		}
		p, err := transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
		if err != nil {
			e.terminate(ReasonTransportError, fmt.Errorf("client: websocket: %w", err))
			return
		}
		e.receive(p)
		if e.isDone() {
			return
		}
	}
}
