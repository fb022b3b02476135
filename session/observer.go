package session

import (
	"net/http"

	"github.com/ferryio/ferry/transport"
)

// Observer hears of an engine's events as they happen, for metrics: set it
// as Options.Observer. A nil field is an event not observed.
//
// The functions run on the goroutine where the event happens, often a hot
// path (PacketsIn and PacketsOut run for every read and every write of
// every session), and concurrently for many sessions: they must be safe for
// concurrent use, quick (an atomic add, say), must not block, and must not
// call back into the engine or its sessions. With no Observer, the engine
// pays one nil check per event.
type Observer struct {
	// Opened reports a session opened by a handshake over transport
	// ("polling" or "websocket").
	Opened func(transport string)
	// Closed reports a session that ended, its final packets written or
	// given up (when Engine.Count stops counting it), with the transport
	// it used then and the reason it closed. Every session Opened reports
	// is Closed once; an upgrade done in between (see Upgrade) moved it to
	// "websocket".
	Closed func(transport string, reason CloseReason)
	// Upgrade reports each step of an upgrade, as Session.OnUpgrade does:
	// started, done (the session now uses e.Transport), or aborted, with
	// e.Err saying why.
	Upgrade func(e UpgradeEvent)
	// Refused reports a request the engine refused, answered with an
	// Engine.IO error.
	Refused func(cause Refusal)
	// PacketsIn reports Engine.IO packets read from a client over
	// transport: how many, and their size in bytes. The size of a packet is
	// that of its encoded form as the transport carries it: its type digit
	// and data for text, its data for a binary WebSocket frame, "b" and the
	// base64 of its data in a long-polling payload; HTTP and WebSocket
	// framing, the separators of a long-polling payload, and compression
	// are left out.
	PacketsIn func(transport string, packets, bytes int)
	// PacketsOut reports Engine.IO packets a transport took from the
	// session to write to a client (a long-polling response, a batch of
	// WebSocket frames), sized as for PacketsIn. The few a transport
	// writes on its own are not reported: the close packet answering a
	// long-poll that comes after its transport ended, and the noop that
	// answers one held for MaxPollHold.
	PacketsOut func(transport string, packets, bytes int)
}

// withNoops returns a copy of o, or nil if o is nil, whose nil fields do
// nothing, so that the engine checks only for the Observer.
func (o *Observer) withNoops() *Observer {
	if o == nil {
		return nil
	}
	c := *o
	if c.Opened == nil {
		c.Opened = func(string) {}
	}
	if c.Closed == nil {
		c.Closed = func(string, CloseReason) {}
	}
	if c.Upgrade == nil {
		c.Upgrade = func(UpgradeEvent) {}
	}
	if c.Refused == nil {
		c.Refused = func(Refusal) {}
	}
	if c.PacketsIn == nil {
		c.PacketsIn = func(string, int, int) {}
	}
	if c.PacketsOut == nil {
		c.PacketsOut = func(string, int, int) {}
	}
	return &c
}

// packetSize returns the size of p as Observer.PacketsIn counts it, on the
// transport named name.
func packetSize(name string, p transport.Packet) int {
	if p.Binary && name == transport.NameWebSocket {
		return len(p.Data)
	}
	return transport.EncodedLen(p)
}

// packetsSize returns the size of pkts as Observer.PacketsOut counts it.
func packetsSize(name string, pkts []transport.Packet) int {
	n := 0
	for _, p := range pkts {
		n += packetSize(name, p)
	}
	return n
}

// Refusal says why the engine refused a request; see Observer.Refused.
type Refusal int

// The refusals, with the Engine.IO error code each is answered with.
const (
	// RefusedUnknownTransport: the transport is not one of
	// Options.Transports (code 0).
	RefusedUnknownTransport Refusal = iota + 1
	// RefusedUnknownSID: no open session has the request's sid (code 1).
	RefusedUnknownSID
	// RefusedBadHandshakeMethod: a handshake that is not a GET (code 2).
	RefusedBadHandshakeMethod
	// RefusedBadRequest: a request that breaks the protocol otherwise
	// (code 3): a WebSocket handshake that is not an upgrade or that fails,
	// a long-poll for a session that moved to WebSocket.
	RefusedBadRequest
	// RefusedOrigin: an Origin the CORS policy does not allow (code 4).
	RefusedOrigin
	// RefusedByAllowRequest: Options.AllowRequest returned an error
	// (code 4).
	RefusedByAllowRequest
	// RefusedUnsupportedVersion: a handshake for an Engine.IO version
	// other than 4 (code 5).
	RefusedUnsupportedVersion
	// RefusedServerClosed: a handshake after Close or Shutdown (status
	// 503, code 3).
	RefusedServerClosed
)

var refusalNames = [...]string{
	RefusedUnknownTransport:   "unknown transport",
	RefusedUnknownSID:         "unknown sid",
	RefusedBadHandshakeMethod: "bad handshake method",
	RefusedBadRequest:         "bad request",
	RefusedOrigin:             "origin not allowed",
	RefusedByAllowRequest:     "forbidden",
	RefusedUnsupportedVersion: "unsupported protocol version",
	RefusedServerClosed:       "server closed",
}

// String returns a short description of r, such as "unknown sid".
func (r Refusal) String() string {
	if r > 0 && int(r) < len(refusalNames) {
		return refusalNames[r]
	}
	return "Refusal(?)"
}

// refusal returns why r was refused with status and code, for the
// Observer.
func (e *Engine) refusal(r *http.Request, status int, code transport.ErrorCode) Refusal {
	switch code {
	case transport.CodeUnknownTransport:
		return RefusedUnknownTransport
	case transport.CodeUnknownSID:
		return RefusedUnknownSID
	case transport.CodeBadHandshakeMethod:
		return RefusedBadHandshakeMethod
	case transport.CodeForbidden:
		if !e.originAllowed(r) {
			return RefusedOrigin
		}
		return RefusedByAllowRequest
	case transport.CodeUnsupportedVersion:
		return RefusedUnsupportedVersion
	}
	if status == http.StatusServiceUnavailable {
		return RefusedServerClosed
	}
	return RefusedBadRequest
}

// reportUpgrade reports an upgrade step to the Observer, then to f, the
// session's OnUpgrade callback, if set.
func (s *Session) reportUpgrade(f func(UpgradeEvent), e UpgradeEvent) {
	if o := s.engine.obs; o != nil {
		o.Upgrade(e)
	}
	if f != nil {
		f(e)
	}
}

// reportClosed reports to the Observer that s ended, on cur.
func (s *Session) reportClosed(cur transport.Transport, reason CloseReason) {
	if o := s.engine.obs; o != nil {
		o.Closed(cur.Name(), reason)
	}
}
