package session

import (
	"encoding/json"
	"net/http"
	"slices"

	"github.com/ferryio/ferry/internal/sid"
	"github.com/ferryio/ferry/polling"
	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/websocket"
)

// openPayload is the JSON of the open packet. Clients and conformance
// tests expect exactly these keys.
type openPayload struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// handshake opens a session over the named transport and answers with the
// open packet.
func (e *Engine) handshake(w http.ResponseWriter, r *http.Request, name string) {
	id := sid.New()
	if e.relay != nil {
		id = e.relay.newSID()
	}
	s := newSession(e, id, r)
	open := openPayload{
		SID:          s.id,
		Upgrades:     []string{},
		PingInterval: e.opts.PingInterval.Milliseconds(),
		PingTimeout:  e.opts.PingTimeout.Milliseconds(),
		MaxPayload:   e.opts.MaxHTTPBufferSize,
	}
	if name == transport.NamePolling && !e.opts.DisableUpgrades && slices.Contains(e.opts.Transports, transport.NameWebSocket) {
		open.Upgrades = []string{transport.NameWebSocket}
	}
	data, _ := json.Marshal(open)
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
