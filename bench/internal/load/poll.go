package load

import (
	"bufio"
	"context"
	"encoding/json"
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

// httpConn is one keep-alive HTTP/1.1 connection carrying requests written
// in advance, one at a time.
type httpConn struct {
	c    net.Conn
	br   *bufio.Reader
	body []byte // the last response body; reused
}

func dialHTTP(ctx context.Context, src *sources, addr string) (*httpConn, error) {
	c, err := src.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &httpConn{c: c, br: bufio.NewReaderSize(c, 4096)}, nil
}

// roundTrip writes req, a complete HTTP/1.1 request, and reads the
// response. The body is valid until the next round trip.
func (h *httpConn) roundTrip(req []byte, deadline time.Time) (int, []byte, error) {
	h.c.SetDeadline(deadline)
	if _, err := h.c.Write(req); err != nil {
		return 0, nil, err
	}
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		return 0, nil, err
	}
	h.body, err = appendAll(h.body[:0], resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, nil, err
	}
	if resp.Close {
		return resp.StatusCode, h.body, errors.New("load: server closed the HTTP connection")
	}
	return resp.StatusCode, h.body, nil
}

func (h *httpConn) close() { h.c.Close() }

// getRequest returns a GET request for path.
func getRequest(addr, path string) []byte {
	return fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
}

// postRequest returns a POST request for path carrying a polling payload.
func postRequest(addr, path string, body []byte) []byte {
	req := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: %d\r\n\r\n",
		path, addr, len(body))
	return append(req, body...)
}

const pollPath = "/socket.io/?EIO=4&transport=polling"

// pollHandshake opens an Engine.IO session over long-polling on h and
// returns its sid.
func pollHandshake(h *httpConn, addr string, deadline time.Time) (string, error) {
	status, body, err := h.roundTrip(getRequest(addr, pollPath), deadline)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK || len(body) < 2 || body[0] != '0' {
		return "", fmt.Errorf("load: polling handshake: %d %q", status, truncate(body))
	}
	var open struct{ Sid string }
	if err := json.Unmarshal(body[1:], &open); err != nil || open.Sid == "" {
		return "", fmt.Errorf("load: polling handshake %q: %v", truncate(body), err)
	}
	return open.Sid, nil
}

// pollConn is a Socket.IO client pinned to long-polling: a GET connection
// read by one goroutine, and a POST connection used by one POST at a time.
type pollConn struct {
	addr   string
	sid    string
	path   string // with the sid
	getReq []byte
	get    *httpConn
	dec    parser.Decoder // used by the GET reader only

	pmu  sync.Mutex
	post *httpConn // guarded by pmu
}

// openPolling opens a Socket.IO connection that stays on long-polling:
// handshake, CONNECT, and the CONNECT reply.
func openPolling(ctx context.Context, src *sources, addr string, codec parser.Codec, connect parser.Frame, deadline time.Time) (*pollConn, error) {
	get, err := dialHTTP(ctx, src, addr)
	if err != nil {
		return nil, err
	}
	post, err := dialHTTP(ctx, src, addr)
	if err != nil {
		get.close()
		return nil, err
	}
	p := newPollConn(addr, get, post, codec)
	if err := p.connect(connect, deadline); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// newPollConn returns a pollConn on get and post, which may be the same
// connection if GETs and POSTs never overlap, decoding with codec.
func newPollConn(addr string, get, post *httpConn, codec parser.Codec) *pollConn {
	return &pollConn{addr: addr, get: get, post: post, dec: codec.NewDecoder()}
}

// connect opens the Engine.IO session and joins the main namespace.
func (p *pollConn) connect(connect parser.Frame, deadline time.Time) error {
	sid, err := pollHandshake(p.get, p.addr, deadline)
	if err != nil {
		return err
	}
	p.sid = sid
	p.path = pollPath + "&sid=" + sid
	p.getReq = getRequest(p.addr, p.path)
	if err := p.send(postRequest(p.addr, p.path, pollBody(connect)), deadline); err != nil {
		return err
	}
	for {
		msgs, err := p.poll(deadline)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Type != parser.Connect {
				return fmt.Errorf("load: got %v, want the CONNECT reply", m.Type)
			}
			return nil
		}
	}
}

// send writes a POST request built by postRequest and checks the answer.
func (p *pollConn) send(req []byte, deadline time.Time) error {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	status, body, err := p.post.roundTrip(req, deadline)
	if err != nil {
		return err
	}
	if status != http.StatusOK || string(body) != "ok" {
		return fmt.Errorf("load: POST answered %d %q", status, truncate(body))
	}
	return nil
}

// poll makes one long-polling GET and returns the Socket.IO packets it
// carried. It answers pings with a POST and skips noops.
func (p *pollConn) poll(deadline time.Time) ([]*parser.Message, error) {
	status, body, err := p.get.roundTrip(p.getReq, deadline)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("load: GET answered %d %q", status, truncate(body))
	}
	pkts, err := transport.DecodePayload(body)
	if err != nil {
		return nil, err
	}
	var msgs []*parser.Message
	for _, pkt := range pkts {
		switch pkt.Type {
		case transport.Ping:
			if err := p.send(postRequest(p.addr, p.path, []byte("3")), deadline); err != nil {
				return nil, err
			}
		case transport.Noop:
		case transport.Close:
			return nil, errClosedByServer
		case transport.Message:
			m, err := p.dec.Decode(pkt.Data, pkt.Binary)
			if err != nil {
				return nil, err
			}
			if m != nil {
				msgs = append(msgs, m)
			}
		default:
			return nil, fmt.Errorf("load: unexpected %v packet", pkt.Type)
		}
	}
	return msgs, nil
}

// close closes both connections at once.
func (p *pollConn) close() {
	p.get.close()
	if p.post != p.get {
		p.post.close()
	}
}

// appendAll appends what r holds to buf, reusing its capacity.
func appendAll(buf []byte, r io.Reader) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
