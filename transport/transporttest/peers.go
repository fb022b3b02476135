package transporttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/transport"
)

// closeHeader marks the GET that PollingPeer.Close sends and drops.
const closeHeader = "X-Peer-Close"

// PollingPeer is the Peer of a long-polling transport served at a URL:
// Receive is one GET, Send one POST. The handler serving the URL calls
// Arrived with each request before serving it, so that Close can tell
// when its last GET reached the server.
type PollingPeer struct {
	url      string
	client   *http.Client
	ctx      context.Context // ended by Close
	cancel   context.CancelFunc
	closeGET chan struct{} // the GET sent by Close has reached the handler
	once     sync.Once
}

// NewPollingPeer returns a PollingPeer of the transport at url (with its
// query, the sid included), on a connection pool of its own.
func NewPollingPeer(url string) *PollingPeer {
	p := &PollingPeer{url: url, client: &http.Client{Transport: &http.Transport{}}, closeGET: make(chan struct{}, 1)}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p
}

// Arrived tells p that r reached the server's handler.
func (p *PollingPeer) Arrived(r *http.Request) {
	if r.Header.Get(closeHeader) != "" {
		select {
		case p.closeGET <- struct{}{}:
		default:
		}
	}
}

// do sends one request, ended by ctx or by Close, and returns the status
// and body.
func (p *PollingPeer) do(ctx context.Context, method, body string) (int, []byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(p.ctx, cancel)
	defer stop()
	var rd io.Reader
	if method == http.MethodPost {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.url, rd)
	if err != nil {
		return 0, nil, err
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// Send implements Peer: one POST of pkts as a payload.
func (p *PollingPeer) Send(ctx context.Context, pkts ...transport.Packet) error {
	status, body, err := p.do(ctx, http.MethodPost, string(transport.EncodePayload(pkts)))
	if err != nil {
		return err
	}
	if status != http.StatusOK || string(body) != "ok" {
		return fmt.Errorf("POST: %d %q", status, body)
	}
	return nil
}

// Receive implements Peer: one GET, its payload decoded.
func (p *PollingPeer) Receive(ctx context.Context) ([]transport.Packet, error) {
	status, body, err := p.do(ctx, http.MethodGet, "")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET: %d %q", status, body)
	}
	return transport.DecodePayload(body)
}

// Close implements Peer: it drops every request in flight, then sends a
// GET and drops its connection once the handler has it, as a closing
// browser tab would.
func (p *PollingPeer) Close() error {
	p.once.Do(func() {
		p.cancel()
		ctx, cancel := context.WithCancel(context.Background())
		res := make(chan struct{})
		go func() {
			defer close(res)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
			req.Header.Set(closeHeader, "1")
			if resp, err := p.client.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
		select {
		case <-p.closeGET:
		case <-res:
		case <-time.After(Timeout):
		}
		cancel()
		<-res
		p.client.CloseIdleConnections()
	})
	return nil
}

// WebSocketPeer is the Peer of a WebSocket transport: one frame per
// packet over Conn.
type WebSocketPeer struct {
	Conn *gorilla.Conn
	// Base64 says binary packets arrive as "b" text frames (the b64=1
	// query): a binary frame is then an error.
	Base64 bool
}

// Send implements Peer: a frame per packet, binary ones as binary frames.
func (p *WebSocketPeer) Send(ctx context.Context, pkts ...transport.Packet) error {
	if d, ok := ctx.Deadline(); ok {
		p.Conn.SetWriteDeadline(d)
	}
	for _, pk := range pkts {
		var err error
		if pk.Binary {
			err = p.Conn.WriteMessage(gorilla.BinaryMessage, pk.Data)
		} else {
			err = p.Conn.WriteMessage(gorilla.TextMessage, transport.EncodePacket(pk))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Receive implements Peer: the next frame's packet.
func (p *WebSocketPeer) Receive(ctx context.Context) ([]transport.Packet, error) {
	if d, ok := ctx.Deadline(); ok {
		p.Conn.SetReadDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { p.Conn.SetReadDeadline(time.Now()) })
	defer stop()
	mt, data, err := p.Conn.ReadMessage()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if p.Base64 && mt == gorilla.BinaryMessage {
		return nil, errors.New("binary frame on a b64=1 connection")
	}
	pk, err := transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
	if err != nil {
		return nil, err
	}
	return []transport.Packet{pk}, nil
}

// Close implements Peer: it drops the TCP connection without a close
// frame.
func (p *WebSocketPeer) Close() error {
	p.Conn.Close()
	return nil
}
