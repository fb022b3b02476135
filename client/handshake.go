package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/transport"
)

const (
	transportPolling   = transport.NamePolling
	transportWebSocket = transport.NameWebSocket

	// protocolVersion is the Engine.IO protocol revision, sent as EIO=4.
	protocolVersion = "4"

	// maxErrorBody bounds how much of an HTTP error body is read.
	maxErrorBody = 4096
)

// openPacket is the JSON body of the Engine.IO open packet.
type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func parseOpen(p transport.Packet) (*openPacket, error) {
	if p.Type != transport.Open {
		return nil, fmt.Errorf("client: handshake: expected an open packet, got %s", p.Type)
	}
	var h openPacket
	if err := json.Unmarshal(p.Data, &h); err != nil {
		return nil, fmt.Errorf("client: handshake: bad open packet: %w", err)
	}
	if h.SID == "" || h.PingInterval <= 0 || h.PingTimeout <= 0 {
		return nil, errors.New("client: handshake: open packet lacks sid, pingInterval or pingTimeout")
	}
	return &h, nil
}

// endpoint returns the URL of an Engine.IO request over the named transport;
// sid is empty for a handshake.
func (c *Client) endpoint(kind, sid string) string {
	u := *c.base
	q := cloneValues(c.opts.Query)
	q.Set("EIO", protocolVersion)
	q.Set("transport", kind)
	if sid != "" {
		q.Set("sid", sid)
	}
	if kind == transportPolling {
		// A cache-buster, as the official client sends on every poll.
		q.Set("t", strconv.FormatUint(c.requests.Add(1), 36))
	} else if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// newRequest builds a polling request with the configured headers.
func (c *Client) newRequest(ctx context.Context, method, sid string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint(transportPolling, sid), body)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.opts.Header {
		req.Header[k] = append(req.Header[k], vs...)
	}
	return req, nil
}

// openEngine performs the Engine.IO handshake over the first configured
// transport, bounded by ctx and Options.Timeout. The engine is not started.
func (c *Client) openEngine(ctx context.Context) (*engine, *gorilla.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	if c.opts.Transports[0] == transportWebSocket {
		return c.handshakeWebSocket(ctx)
	}
	e, err := c.handshakePolling(ctx)
	return e, nil, err
}

// handshakePolling opens a session with a GET that carries no sid; the
// answer's first packet is the open packet.
func (c *Client) handshakePolling(ctx context.Context) (*engine, error) {
	req, err := c.newRequest(ctx, http.MethodGet, "", nil)
	if err != nil {
		return nil, fmt.Errorf("client: handshake: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: handshake: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, httpError(resp)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("client: handshake: %w", err)
	}
	pkts, err := transport.DecodePayload(body)
	if err != nil {
		return nil, fmt.Errorf("client: handshake: %w", err)
	}
	h, err := parseOpen(pkts[0])
	if err != nil {
		return nil, err
	}
	e := newEngine(c, transportPolling, h)
	e.initial = pkts[1:]
	return e, nil
}

// handshakeWebSocket opens a WebSocket-only session: a WebSocket without a
// sid, whose first frame is the open packet.
func (c *Client) handshakeWebSocket(ctx context.Context) (*engine, *gorilla.Conn, error) {
	conn, err := c.dialWebSocket(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	p, err := readFrameCtx(ctx, conn)
	if err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("client: handshake: %w", err)
	}
	h, err := parseOpen(p)
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	e := newEngine(c, transportWebSocket, h)
	e.ws = conn
	return e, conn, nil
}

// dialWebSocket opens a WebSocket to the endpoint (with sid when upgrading
// an existing session).
func (c *Client) dialWebSocket(ctx context.Context, sid string) (*gorilla.Conn, error) {
	conn, resp, err := c.dialer.DialContext(ctx, c.endpoint(transportWebSocket, sid), c.opts.Header)
	if err != nil {
		if resp != nil && errors.Is(err, gorilla.ErrBadHandshake) {
			return nil, httpError(resp)
		}
		return nil, fmt.Errorf("client: websocket: %w", err)
	}
	return conn, nil
}

// readFrameCtx reads one WebSocket frame as an Engine.IO packet, giving up
// when ctx ends.
func readFrameCtx(ctx context.Context, conn *gorilla.Conn) (transport.Packet, error) {
	stop := context.AfterFunc(ctx, func() {
		_ = conn.SetReadDeadline(time.Unix(1, 0))
	})
	mt, data, err := conn.ReadMessage()
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		return transport.Packet{}, err
	}
	if err := conn.SetReadDeadline(time.Time{}); err != nil {
		return transport.Packet{}, err
	}
	return transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
}

// httpError reads an HTTP error answer, with Engine.IO's JSON body
// {"code":N,"message":"..."} when present.
func httpError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	he := &HTTPError{StatusCode: resp.StatusCode, Code: -1}
	var eio struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &eio) == nil && eio.Code != nil {
		he.Code = *eio.Code
		he.Message = eio.Message
	} else {
		he.Message = strings.TrimSpace(string(body))
	}
	return he
}
