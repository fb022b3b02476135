package session

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/ferryio/ferry/internal/sid"
	"github.com/ferryio/ferry/polling"
	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/websocket"
)

// appendOpenPayload appends the JSON of the open packet to dst, with
// exactly the keys, in the order, that clients and conformance tests
// expect. It is written by hand: encoding/json's reflection costs a
// handshake more than the rest of building the packet.
func appendOpenPayload(dst []byte, sid string, upgrade bool, pingInterval, pingTimeout, maxPayload int64) []byte {
	dst = append(dst, `{"sid":`...)
	dst = appendJSONString(dst, sid)
	if upgrade {
		dst = append(dst, `,"upgrades":["websocket"],"pingInterval":`...)
	} else {
		dst = append(dst, `,"upgrades":[],"pingInterval":`...)
	}
	dst = strconv.AppendInt(dst, pingInterval, 10)
	dst = append(dst, `,"pingTimeout":`...)
	dst = strconv.AppendInt(dst, pingTimeout, 10)
	dst = append(dst, `,"maxPayload":`...)
	dst = strconv.AppendInt(dst, maxPayload, 10)
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string. A session id is made of
// URL-safe base64 characters, which need no escaping; anything else goes
// through encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// handshake opens a session over the named transport and answers with the
// open packet.
func (e *Engine) handshake(w http.ResponseWriter, r *http.Request, name string) {
	id := sid.New()
	if e.relay != nil {
		id = e.relay.newSID()
	}
	s := newSession(e, id, r)
	upgrade := name == transport.NamePolling && !e.opts.DisableUpgrades && slices.Contains(e.opts.Transports, transport.NameWebSocket)
	data := appendOpenPayload(make([]byte, 0, 128), s.id, upgrade,
		e.opts.PingInterval.Milliseconds(), e.opts.PingTimeout.Milliseconds(), e.opts.MaxHTTPBufferSize)
	s.queue = []transport.Packet{{Type: transport.Open, Data: data}}

	if c := e.opts.Cookie; c != nil {
		cookie := *c
		cookie.Value = s.id
		http.SetCookie(w, &cookie)
	}
	var ws *websocket.Transport
	if name == transport.NameWebSocket {
		conn, err := e.ws.Upgrade(w, r)
		if err != nil {
			e.logger.Debug("websocket handshake refused", "err", err, "remote", r.RemoteAddr)
			if e.obs != nil {
				e.obs.Refused(RefusedBadRequest)
			}
			return
		}
		ws = websocket.New(e.ws, conn, s)
		s.current = ws
	} else {
		s.current = polling.New(e.polling, s)
	}

	if !e.registry.add(s) {
		// Engine.Close or Shutdown ran since ServeHTTP checked.
		if ws != nil {
			ws.Close()
		} else {
			e.refuseClosed(w, r)
		}
		return
	}
	if e.obs != nil {
		e.obs.Opened(name)
	}
	if f := e.opts.OnConnection; f != nil {
		f(s)
	}
	s.mu.Lock()
	if s.state == stateOpen {
		s.startHeartbeatLocked()
	}
	s.mu.Unlock()
	e.logger.Debug("session opened", "sid", s.id, "transport", name, "remote", r.RemoteAddr)

	if ws != nil {
		ws.Start()
		ws.Wake()
		return
	}
	s.servePolling(w, r)
}
