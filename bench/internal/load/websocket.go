package load

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// maxFrame bounds what the client accepts in one message.
const maxFrame = 1 << 20

// errWSClosed reports a WebSocket close frame from the server.
var errWSClosed = errors.New("load: server closed the WebSocket")

// wsConn is a minimal client WebSocket: no extensions, every frame masked
// with one key chosen at connect time, so that a frame can be built once
// and written many times. One goroutine reads at a time; writes hold wmu.
type wsConn struct {
	c    net.Conn
	br   *bufio.Reader
	mask [4]byte
	buf  []byte // the last message read; reused

	wmu  sync.Mutex
	wbuf []byte // guarded by wmu: frame being written

	dec messageDecoder // Socket.IO only
}

// dialWS opens a WebSocket to ws://addr+path from the next source address.
// Its Socket.IO packets are decoded with codec (nil for the raw server).
func dialWS(ctx context.Context, src *sources, addr, path string, codec parser.Codec) (*wsConn, error) {
	c, err := src.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	ws := &wsConn{c: c, br: bufio.NewReaderSize(c, 8<<10)}
	if codec != nil {
		ws.dec = newMessageDecoder(codec)
	}
	if err := ws.handshake(ctx, addr, path); err != nil {
		c.Close()
		return nil, fmt.Errorf("load: websocket %s%s: %w", addr, path, err)
	}
	return ws, nil
}

func (ws *wsConn) handshake(ctx context.Context, addr, path string) error {
	if d, ok := ctx.Deadline(); ok {
		ws.c.SetDeadline(d)
	}
	var key [16]byte
	rand.Read(key[:])
	rand.Read(ws.mask[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr, k)
	if _, err := io.WriteString(ws.c, req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(ws.br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	h := sha1.Sum([]byte(k + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(h[:]) {
		return errors.New("bad Sec-WebSocket-Accept")
	}
	return nil
}

// setDeadline bounds every later read and write on ws.
func (ws *wsConn) setDeadline(t time.Time) { ws.c.SetDeadline(t) }

// appendFrame appends a complete masked frame carrying payload to dst.
func (ws *wsConn) appendFrame(dst []byte, op byte, payload []byte) []byte {
	dst = append(dst, 0x80|op) // FIN
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, ws.mask[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	for i := range payload {
		dst[start+i] ^= ws.mask[i&3]
	}
	return dst
}

// frame returns the WebSocket frame carrying the Engine.IO message m, to
// write with writeFrames: a binary frame holding a binary message as it
// is, a text frame holding a text message after its packet type.
func (ws *wsConn) frame(m parser.Frame) []byte {
	if m.Binary {
		return ws.appendFrame(nil, opBinary, m.Data)
	}
	return ws.appendFrame(nil, opText, transport.EncodePacket(enginePacket(m)))
}

// writeFrames writes frames built by frame (one or several, concatenated)
// in one write.
func (ws *wsConn) writeFrames(frames []byte) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	_, err := ws.c.Write(frames)
	return err
}

func (ws *wsConn) write(op byte, payload []byte) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	ws.wbuf = ws.appendFrame(ws.wbuf[:0], op, payload)
	_, err := ws.c.Write(ws.wbuf)
	return err
}

// writeMessage sends one Engine.IO message.
func (ws *wsConn) writeMessage(m parser.Frame) error { return ws.writeFrames(ws.frame(m)) }

// writeText sends one text message.
func (ws *wsConn) writeText(s string) error { return ws.write(opText, []byte(s)) }

// buffered reports whether received bytes are waiting to be read.
func (ws *wsConn) buffered() bool { return ws.br.Buffered() > 0 }

// readFrame reads the next data message (text or binary) into ws.buf and
// returns its opcode and data, valid until the next read. It answers
// WebSocket pings and reports a close frame as errWSClosed.
func (ws *wsConn) readFrame() (byte, []byte, error) {
	ws.buf = ws.buf[:0]
	var msgOp byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(ws.br, h[:]); err != nil {
			return 0, nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0f
		if h[1]&0x80 != 0 {
			return 0, nil, errors.New("load: masked frame from the server")
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			if _, err := io.ReadFull(ws.br, ext[:]); err != nil {
				return 0, nil, err
			}
			n = uint64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			if _, err := io.ReadFull(ws.br, ext[:]); err != nil {
				return 0, nil, err
			}
			n = binary.BigEndian.Uint64(ext[:])
		}
		if n > maxFrame || uint64(len(ws.buf))+n > maxFrame {
			return 0, nil, fmt.Errorf("load: %d-byte frame from the server", n)
		}
		if op >= opClose { // control frame, maybe between fragments
			var ctl [125]byte
			if n > 125 {
				return 0, nil, errors.New("load: oversized control frame")
			}
			if _, err := io.ReadFull(ws.br, ctl[:n]); err != nil {
				return 0, nil, err
			}
			switch op {
			case opClose:
				return 0, nil, errWSClosed
			case opPing:
				if err := ws.write(opPong, ctl[:n]); err != nil {
					return 0, nil, err
				}
			}
			continue
		}
		if op != opContinuation {
			msgOp = op
		}
		start := len(ws.buf)
		ws.buf = append(ws.buf, make([]byte, n)...)
		if _, err := io.ReadFull(ws.br, ws.buf[start:]); err != nil {
			return 0, nil, err
		}
		if fin {
			return msgOp, ws.buf, nil
		}
	}
}

// close closes the connection at once.
func (ws *wsConn) close() { ws.c.Close() }
