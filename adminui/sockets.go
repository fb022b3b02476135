package adminui

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/ferryio/ferry"
)

// socketInfo describes a socket as the UI reads it (in all_sockets and
// socket_connected).
type socketInfo struct {
	ID string `json:"id"`
	// ClientID is the start of the connection's id, which groups the
	// client's sockets; it is left out for a socket of another server.
	ClientID string `json:"clientId,omitempty"`
	// Transport is "polling" or "websocket"; left out for a socket of
	// another server.
	Transport string        `json:"transport,omitempty"`
	Nsp       string        `json:"nsp"`
	Data      any           `json:"data"`
	Handshake handshakeInfo `json:"handshake"`
	Rooms     []string      `json:"rooms"`
}

// handshakeInfo is the part of socket.io's handshake the UI shows.
type handshakeInfo struct {
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]any    `json:"query"`
	Issued  int64             `json:"issued"` // milliseconds since the epoch
	Secure  bool              `json:"secure"`
	Time    string            `json:"time"`
	URL     string            `json:"url"`
	XDomain bool              `json:"xdomain"`
}

// clientIDLength is how much of a connection's id the UI is shown, as the
// npm package does: the whole id would let anyone who sees the UI send
// long-polling requests in the client's name.
const clientIDLength = 12

// describe describes a socket of this server.
func describe(s *ferry.Socket) socketInfo {
	info := describeRemote(s.Namespace(), ferry.NewRemoteSocket(s.Namespace(), s.ID(), s.Handshake(), s.Rooms(), s.Data()))
	info.ClientID = clientID(s.Conn()) // set even if the socket has left the namespace meanwhile
	info.Transport = s.Transport()
	return info
}

// describeRemote describes a socket that FetchSockets returned: one of
// this server's is described in full, another server's without its
// connection.
func describeRemote(nsp *ferry.Namespace, rs *ferry.RemoteSocket) socketInfo {
	info := socketInfo{
		ID:    rs.ID,
		Nsp:   nsp.Name(),
		Data:  plainData(rs.Data),
		Rooms: rs.Rooms,
	}
	if info.Rooms == nil {
		info.Rooms = []string{}
	}
	if rs.Handshake != nil {
		info.Handshake = describeHandshake(rs.Handshake)
	}
	if s := nsp.Socket(rs.ID); s != nil {
		info.ClientID = clientID(s.Conn())
		info.Transport = s.Transport()
	}
	return info
}

func clientID(c *ferry.Conn) string {
	id := c.ID()
	if len(id) > clientIDLength {
		id = id[:clientIDLength]
	}
	return id
}

// describeHandshake describes a handshake as socket.io's handshake object
// reads: header names in lower case, each header's values joined with
// ", " as Node joins them, the host among the headers, the query with a
// repeated key as an array, the time as JavaScript's Date.toString writes
// it. The address is that of the client behind a proxy that said so
// (cf-connecting-ip, then x-forwarded-for), as the npm package shows it.
func describeHandshake(hs *ferry.Handshake) handshakeInfo {
	headers := make(map[string]string, len(hs.Header)+1)
	for name, values := range hs.Header {
		headers[strings.ToLower(name)] = strings.Join(values, ", ")
	}
	if hs.Host != "" {
		headers["host"] = hs.Host
	}
	address := hs.Address
	if v := headers["cf-connecting-ip"]; v != "" {
		address = v
	} else if v := headers["x-forwarded-for"]; v != "" {
		address = v
	}
	return handshakeInfo{
		Address: address,
		Headers: headers,
		Query:   plainQuery(hs.Query),
		Issued:  hs.Time.UnixMilli(),
		Secure:  hs.Secure,
		Time:    jsDateString(hs.Time),
		URL:     hs.URL,
		XDomain: headers["origin"] != "",
	}
}

// plainQuery returns q as Node's querystring parses it: one value as a
// string, several as an array.
func plainQuery(q url.Values) map[string]any {
	out := make(map[string]any, len(q))
	for k, vs := range q {
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = vs
		}
	}
	return out
}

// jsDateString writes t as JavaScript's Date.prototype.toString does,
// with Go's abbreviation of the zone's name in the parentheses.
func jsDateString(t time.Time) string {
	return t.Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)")
}

// plainData returns a socket's data as plain maps, slices and values that
// any parser encodes, as it would be written as JSON; nil becomes an empty
// object, as socket.io's socket.data starts. Data that JSON cannot hold
// is shown as an object with the reason.
func plainData(v any) any {
	if v == nil {
		return map[string]any{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"error": "data not shown: " + err.Error()}
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return map[string]any{"error": "data not shown: " + err.Error()}
	}
	return out
}
