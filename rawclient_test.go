package ferry_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// rawClient is a bare Engine.IO client for the tests that need a client
// to misbehave: send malformed packets, stop answering pings, never join a
// namespace, never read. It speaks long-polling (one request at a time,
// GETs only when the test reads), WebSocket, or polling upgraded to
// WebSocket, and is used from one goroutine.
type rawClient struct {
	t     testing.TB
	base  string // the endpoint, http://127.0.0.1:port/socket.io/
	codec parser.Codec
	dec   parser.Decoder
	sid   string
	hc    *http.Client
	ws    *gorilla.Conn      // the WebSocket, once there is one
	got   []transport.Packet // long-polling: received, not yet read
	pong  bool               // answer the server's pings
}

// errEngineClosed is returned by rawClient reads once the server has
// closed the session.
var errEngineClosed = errors.New("engine session closed")

// dialRaw opens an Engine.IO session over the named transport set-up
// ("polling", "websocket" or "upgrade"), answering pings. It is closed when
// t ends.
func (ts *testServer) dialRaw(t testing.TB, how string) *rawClient {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{}, Timeout: within}
	r := &rawClient{t: t, base: ts.URL + "/socket.io/", codec: ts.mode.codec, dec: ts.mode.codec.NewDecoder(), hc: hc, pong: true}
	t.Cleanup(func() {
		if r.ws != nil {
			r.ws.Close()
		}
		hc.CloseIdleConnections()
	})
	if how == "websocket" {
		r.ws = r.dialWebSocket("")
		p := r.readEngine()
		require.Equal(t, transport.Open, p.Type)
		r.sid = openSID(t, p.Data)
		return r
	}
	resp, err := hc.Get(r.base + "?EIO=4&transport=polling")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	p, err := transport.DecodePacket(body)
	require.NoError(t, err)
	require.Equal(t, transport.Open, p.Type)
	r.sid = openSID(t, p.Data)
	if how == "upgrade" {
		ws := r.dialWebSocket(r.sid)
		require.NoError(t, ws.WriteMessage(gorilla.TextMessage, []byte("2probe")))
		_, msg, err := ws.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, "3probe", string(msg))
		require.NoError(t, ws.WriteMessage(gorilla.TextMessage, []byte("5")))
		r.ws = ws
	}
	return r
}

func openSID(t testing.TB, data []byte) string {
	var open struct {
		SID string `json:"sid"`
	}
	require.NoError(t, json.Unmarshal(data, &open))
	require.NotEmpty(t, open.SID)
	return open.SID
}

func (r *rawClient) dialWebSocket(sid string) *gorilla.Conn {
	u := "ws" + strings.TrimPrefix(r.base, "http") + "?EIO=4&transport=websocket"
	if sid != "" {
		u += "&sid=" + sid
	}
	ws, resp, err := gorilla.DefaultDialer.Dial(u, nil)
	require.NoError(r.t, err)
	resp.Body.Close()
	return ws
}

// sendEngine writes Engine.IO packets: one frame each on a WebSocket, one
// POST in all on long-polling.
func (r *rawClient) sendEngine(pkts ...transport.Packet) error {
	if r.ws != nil {
		for _, p := range pkts {
			var err error
			if p.Binary {
				err = r.ws.WriteMessage(gorilla.BinaryMessage, p.Data)
			} else {
				err = r.ws.WriteMessage(gorilla.TextMessage, transport.EncodePacket(p))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	resp, err := r.hc.Post(r.base+"?EIO=4&transport=polling&sid="+r.sid, "text/plain;charset=UTF-8",
		bytes.NewReader(transport.EncodePayload(pkts)))
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST: %s", resp.Status)
	}
	return nil
}

// send encodes a Socket.IO packet with the server's parser and writes it.
func (r *rawClient) send(p *parser.Packet) {
	r.t.Helper()
	frames, err := r.codec.Encode(p)
	require.NoError(r.t, err)
	pkts := make([]transport.Packet, len(frames))
	for i, f := range frames {
		pkts[i] = transport.Packet{Type: transport.Message, Data: f.Data, Binary: f.Binary}
	}
	require.NoError(r.t, r.sendEngine(pkts...))
}

// readEngine returns the next Engine.IO packet from the server, failing t
// if none comes within the bound. A session the server has ended reads as a
// Close packet.
func (r *rawClient) readEngine() transport.Packet {
	r.t.Helper()
	p, err := r.tryReadEngine()
	require.NoError(r.t, err)
	return p
}

func (r *rawClient) tryReadEngine() (transport.Packet, error) {
	if r.ws != nil {
		r.ws.SetReadDeadline(time.Now().Add(within))
		mt, data, err := r.ws.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				return transport.Packet{}, err
			}
			return transport.Packet{Type: transport.Close}, nil
		}
		return transport.DecodeFrame(data, mt == gorilla.BinaryMessage)
	}
	for len(r.got) == 0 {
		resp, err := r.hc.Get(r.base + "?EIO=4&transport=polling&sid=" + r.sid)
		if err != nil {
			return transport.Packet{}, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return transport.Packet{}, err
		}
		if resp.StatusCode != http.StatusOK {
			// An unknown sid: the session is gone.
			return transport.Packet{Type: transport.Close}, nil
		}
		pkts, err := transport.DecodePayload(body)
		if err != nil {
			return transport.Packet{}, err
		}
		r.got = pkts
	}
	p := r.got[0]
	r.got = r.got[1:]
	return p, nil
}

// read returns the next Socket.IO packet, answering pings on the way, or
// errEngineClosed once the server has closed the session.
func (r *rawClient) read() (*parser.Message, error) {
	for {
		p, err := r.tryReadEngine()
		if err != nil {
			return nil, err
		}
		switch p.Type {
		case transport.Close:
			return nil, errEngineClosed
		case transport.Ping:
			if r.pong {
				if err := r.sendEngine(transport.Packet{Type: transport.Pong}); err != nil {
					return nil, err
				}
			}
		case transport.Message:
			m, err := r.dec.Decode(p.Data, p.Binary)
			if err != nil {
				return nil, err
			}
			if m != nil {
				return m, nil
			}
		}
	}
}

// join sends CONNECT for namespace and returns the server's reply.
func (r *rawClient) join(namespace string, auth any) *parser.Message {
	r.t.Helper()
	r.send(&parser.Packet{Type: parser.Connect, Namespace: namespace, Payload: auth})
	m, err := r.read()
	require.NoError(r.t, err)
	return m
}

// waitClosed reads until the server closes the session, failing t if
// anything but pings, noops and Socket.IO packets comes first.
func (r *rawClient) waitClosed() {
	r.t.Helper()
	for {
		_, err := r.read()
		if errors.Is(err, errEngineClosed) {
			return
		}
		require.NoError(r.t, err)
	}
}
