package load

import (
	"context"
	"fmt"
	"time"

	"github.com/ferryio/ferry/parser"
)

const wsPath = "/socket.io/?EIO=4&transport=websocket"

// openWebsocket opens a WebSocket-only Socket.IO connection (the client
// option transports: ["websocket"]) and joins the main namespace.
func openWebsocket(ctx context.Context, src *sources, addr string, codec parser.Codec, connect parser.Frame, deadline time.Time) (*wsConn, error) {
	c, err := dialWS(ctx, src, addr, wsPath, codec)
	if err != nil {
		return nil, err
	}
	c.setDeadline(deadline)
	if err := c.join(connect); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// join reads the open packet, sends CONNECT and reads the reply.
func (c *wsConn) join(connect parser.Frame) error {
	binary, data, err := c.readEngine()
	if err != nil {
		return err
	}
	if binary || len(data) == 0 || data[0] != '0' {
		return fmt.Errorf("load: got %q, want the open packet", truncate(data))
	}
	if err := c.writeMessage(connect); err != nil {
		return err
	}
	return c.readConnect()
}

func (c *wsConn) readConnect() error {
	m, err := c.readMessage()
	if err != nil {
		return err
	}
	if m.Type != parser.Connect {
		return fmt.Errorf("load: got %v, want the CONNECT reply", m.Type)
	}
	return nil
}

// openUpgrade connects as socket.io-client does by default: long-polling
// handshake, CONNECT over POST, the reply over GET, then the WebSocket
// probe (2probe, 3probe) and the upgrade (5). The polling requests share
// one keep-alive connection, closed once the upgrade is done.
func openUpgrade(ctx context.Context, src *sources, addr string, codec parser.Codec, connect parser.Frame, deadline time.Time) (*wsConn, error) {
	h, err := dialHTTP(ctx, src, addr)
	if err != nil {
		return nil, err
	}
	defer h.close()
	p := newPollConn(addr, h, h, codec)
	if err := p.connect(connect, deadline); err != nil {
		return nil, err
	}
	c, err := dialWS(ctx, src, addr, wsPath+"&sid="+p.sid, codec)
	if err != nil {
		return nil, err
	}
	c.setDeadline(deadline)
	if err := c.upgrade(); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// upgrade probes the new WebSocket and commits the upgrade.
func (c *wsConn) upgrade() error {
	if err := c.writeText("2probe"); err != nil {
		return err
	}
	binary, data, err := c.readEngine()
	if err != nil {
		return err
	}
	if binary || string(data) != "3probe" {
		return fmt.Errorf("load: got %q, want 3probe", truncate(data))
	}
	return c.writeText("5")
}

// openRaw opens a WebSocket to the raw server.
func openRaw(ctx context.Context, src *sources, addr string, deadline time.Time) (*wsConn, error) {
	c, err := dialWS(ctx, src, addr, "/ws", nil)
	if err != nil {
		return nil, err
	}
	c.setDeadline(deadline)
	return c, nil
}
