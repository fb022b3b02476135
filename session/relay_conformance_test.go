package session

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/polling"
	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/transport/transporttest"
)

// relayPair starts two engines on one memNet: the owner, and the relay,
// served on an httptest server whose handler runs before each request.
func relayPair(t *testing.T, before func(r *http.Request)) (owner, relay *Engine, url string) {
	t.Helper()
	net := newMemNet()
	quiet := slog.New(slog.DiscardHandler)
	owner = NewEngine(&Options{Logger: quiet, Relay: &RelayOptions{Bus: net.bus("OWNR")}})
	relay = NewEngine(&Options{Logger: quiet, Relay: &RelayOptions{Bus: net.bus("RLAY")}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil {
			before(r)
		}
		relay.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		owner.Close()
		relay.Close()
		srv.Close()
	})
	return owner, relay, srv.URL + relay.Path()
}

// TestRelayConformancePolling runs the transport conformance suite on a
// polling transport whose client's requests all reach another engine.
func TestRelayConformancePolling(t *testing.T) {
	transporttest.Run(t, func(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
		p := &pollPeer{closeGET: make(chan struct{}, 1)}
		owner, _, url := relayPair(t, func(r *http.Request) {
			if r.Header.Get(closeHeader) != "" {
				select {
				case p.closeGET <- struct{}{}:
				default:
				}
			}
		})
		// A session of the owner's whose polling transport is bound to s.
		sess := newSession(owner, owner.relay.newSID(), httptest.NewRequest(http.MethodGet, "/", nil))
		tr := polling.New(owner.polling, s)
		sess.current = tr
		require.True(t, owner.registry.add(sess))
		p.url = url + "?EIO=4&transport=polling&sid=" + sess.id
		p.client = &http.Client{Transport: &http.Transport{}}
		p.ctx, p.cancel = context.WithCancel(context.Background())
		return tr, p
	})
}

// TestRelayConformanceWebSocket runs the transport conformance suite on the
// owner's side of a WebSocket that reached another engine.
func TestRelayConformanceWebSocket(t *testing.T) {
	transporttest.Run(t, func(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
		owner, _, url := relayPair(t, nil)
		made := make(chan *remoteWS, 1)
		owner.relay.testHookOpen = func(rt *remoteWS) transport.Session {
			made <- rt
			return s
		}
		d := gorilla.Dialer{HandshakeTimeout: waitFor}
		sid := owner.relay.newSID()
		conn, _, err := d.Dial("ws"+strings.TrimPrefix(url, "http")+"?EIO=4&transport=websocket&sid="+sid, nil)
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		conn.SetReadDeadline(time.Now().Add(transporttest.Timeout))
		select {
		case rt := <-made:
			return rt, &wsPeer{conn: conn}
		case <-time.After(waitFor):
			t.Fatal("the owner did not serve the WebSocket")
			return nil, nil
		}
	})
}

// closeHeader marks the GET that pollPeer.Close sends and drops.
const closeHeader = "X-Peer-Close"

// pollPeer is a long-polling client: Receive is one GET, Send one POST.
type pollPeer struct {
	url      string
	client   *http.Client
	ctx      context.Context // ended by Close
	cancel   context.CancelFunc
	closeGET chan struct{} // the GET sent by Close has reached the handler
	once     sync.Once
}

func (p *pollPeer) do(ctx context.Context, method, body string, header ...string) (int, []byte, error) {
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
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (p *pollPeer) Send(ctx context.Context, pkts ...transport.Packet) error {
	status, body, err := p.do(ctx, http.MethodPost, string(transport.EncodePayload(pkts)))
	if err != nil {
		return err
	}
	if status != http.StatusOK || string(body) != "ok" {
		return fmt.Errorf("POST: %d %q", status, body)
	}
	return nil
}

func (p *pollPeer) Receive(ctx context.Context) ([]transport.Packet, error) {
	status, body, err := p.do(ctx, http.MethodGet, "")
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET: %d %q", status, body)
	}
	return transport.DecodePayload(body)
}

// Close drops every request in flight, then sends a GET and drops its
// connection once the relaying engine has it, as a closing tab would.
func (p *pollPeer) Close() error {
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
		case <-time.After(transporttest.Timeout):
		}
		cancel()
		<-res
		p.client.CloseIdleConnections()
	})
	return nil
}

// wsPeer is a WebSocket client: one frame per packet.
type wsPeer struct {
	conn *gorilla.Conn
}

func (p *wsPeer) Send(ctx context.Context, pkts ...transport.Packet) error {
	if d, ok := ctx.Deadline(); ok {
		p.conn.SetWriteDeadline(d)
	}
	for _, pk := range pkts {
		var err error
		if pk.Binary {
			err = p.conn.WriteMessage(gorilla.BinaryMessage, pk.Data)
		} else {
			err = p.conn.WriteMessage(gorilla.TextMessage, transport.EncodePacket(pk))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *wsPeer) Receive(ctx context.Context) ([]transport.Packet, error) {
	if d, ok := ctx.Deadline(); ok {
		p.conn.SetReadDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { p.conn.SetReadDeadline(time.Now()) })
	defer stop()
	mt, data, err := p.conn.ReadMessage()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	pk, err := transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
	if err != nil {
		return nil, err
	}
	return []transport.Packet{pk}, nil
}

// Close drops the TCP connection without a close frame.
func (p *wsPeer) Close() error {
	p.conn.Close()
	return nil
}
