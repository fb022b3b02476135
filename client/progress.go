package client

import (
	"io"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/transport"
)

// writeChunk is the most bytes of a WebSocket message handed to the
// connection at once: a large message goes out in pieces, each recording
// progress, so that the heartbeat sees the server taking it.
const writeChunk = 32 << 10

// moved records that bytes moved between the client and the server now.
func (e *engine) moved() { e.progress.Store(time.Now().UnixNano()) }

// lastProgress returns when bytes last moved between the client and the
// server (read from it, or taken by the connection to it), or the zero
// time.
func (e *engine) lastProgress() time.Time {
	if n := e.progress.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// progressReader records progress on its engine each time bytes arrive.
// On a WebSocket it also tells the server that the client is there, while
// a large message keeps it from reading the server's pings.
type progressReader struct {
	r  io.Reader
	e  *engine
	ws *gorilla.Conn // nil on long-polling
	// lastPing is when a WebSocket ping frame was last sent.
	lastPing time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.e.moved()
		p.keepalive()
	}
	return n, err
}

// keepalive sends a WebSocket ping frame (a control frame, which Engine.IO
// does not see) at most every half of the server's shorter heartbeat
// period while a message is arriving. An Engine.IO ping that the server
// sent after that message cannot reach the client before it: the server
// would otherwise hear nothing from the client, and close it for a missing
// pong, while the client is busy receiving. Reading any bytes, a control
// frame's included, is a sign of life to a Ferry server; others at least
// answer the frame.
func (p *progressReader) keepalive() {
	if p.ws == nil {
		return
	}
	every := min(p.e.pingInterval, p.e.pingTimeout) / 2
	now := time.Now()
	if every <= 0 || now.Sub(p.lastPing) < every {
		return
	}
	p.lastPing = now
	// WriteControl may be called alongside the writer; it waits at most
	// until its deadline.
	p.ws.WriteControl(gorilla.PingMessage, nil, now.Add(every))
}

// readFrame reads one WebSocket message, recording progress as its bytes
// arrive: a large message from a slow server is not taken for silence,
// and the server hears from the client meanwhile (see keepalive).
func (e *engine) readFrame(ws *gorilla.Conn) (messageType int, data []byte, err error) {
	mt, r, err := ws.NextReader()
	if err != nil {
		return mt, nil, err
	}
	e.moved()
	data, err = io.ReadAll(&progressReader{r: r, e: e, ws: ws, lastPing: time.Now()})
	return mt, data, err
}

// writeFrame writes one message, a large one in pieces that each record
// progress once the connection took them. Small messages record none: the
// kernel takes them whether or not the server is there, where the pieces
// of a large one outgrow its buffers and go only as the server reads.
func (e *engine) writeFrame(ws *gorilla.Conn, mt int, data []byte) error {
	if len(data) <= writeChunk {
		return ws.WriteMessage(mt, data)
	}
	w, err := ws.NextWriter(mt)
	if err != nil {
		return err
	}
	for len(data) > 0 {
		n := min(len(data), writeChunk)
		if _, err := w.Write(data[:n]); err != nil {
			w.Close()
			return err
		}
		e.moved()
		data = data[n:]
	}
	if err := w.Close(); err != nil {
		return err
	}
	e.moved()
	return nil
}

// writeFrames writes each packet as one WebSocket message: binary messages
// as binary frames holding the raw bytes, everything else as text frames.
func (e *engine) writeFrames(ws *gorilla.Conn, pkts []transport.Packet) error {
	for _, p := range pkts {
		var err error
		if p.Binary {
			err = e.writeFrame(ws, gorilla.BinaryMessage, p.Data)
		} else {
			err = e.writeFrame(ws, gorilla.TextMessage, transport.EncodePacket(p))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
