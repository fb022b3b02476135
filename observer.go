package ferry

import "github.com/ferryio/ferry/session"

// Observer hears of a server's events as they happen, for metrics: set it
// as Options.Observer. The module github.com/ferryio/ferry/metrics builds
// one that exports Prometheus metrics. A nil field is an event not
// observed.
//
// The functions run on the goroutine where the event happens, often a hot
// path (Engine.PacketsIn and Engine.PacketsOut run for every read and
// every write of every connection), and concurrently: they must be safe for
// concurrent use, quick (an atomic add, say), must not block, and must not
// call back into the server. With no Observer, the server pays one nil
// check per event.
type Observer struct {
	// Engine hears of the connections' Engine.IO events: connections
	// opened and closed (with the transport and the close reason; one
	// closed because its queue overflowed, Options.MaxQueuedPackets, has
	// session.ReasonQueueFull), upgrades, refused requests, and packets
	// and bytes read and written, by transport. See session.Observer.
	Engine EngineObserver
	// Connected reports a socket that connected to a namespace: it passed
	// the middleware, or was restored by connection state recovery.
	Connected func(namespace string)
	// Disconnected reports a connected socket that disconnected, with the
	// reason its OnDisconnect handlers receive. Each socket Connected
	// reports is Disconnected once.
	Disconnected func(namespace string, reason DisconnectReason)
	// Broadcast reports an event emitted to sockets selected through the
	// adapter (Broadcast's Emit, EmitWithAck and EmitWithAckFunc, which
	// Server.Emit, Namespace.Emit and RemoteSocket's emits use), once per
	// call, whatever the number of sockets reached. Broadcasts that a
	// cluster adapter receives from other servers are reported there.
	Broadcast func(namespace string)
	// AckTimeout reports an EmitWithAck or EmitWithAckFunc, to one socket
	// or a broadcast, whose deadline (a Timeout, or the context's)
	// passed before the acks came. One whose context was cancelled is not
	// reported.
	AckTimeout func(namespace string)
}

// EngineObserver is the Engine.IO part of an Observer: see
// session.Observer.
type EngineObserver = session.Observer

// withNoops returns a copy of o, or nil if o is nil, whose nil fields do
// nothing, so that the server checks only for the Observer. Engine's are
// left to the engine.
func (o *Observer) withNoops() *Observer {
	if o == nil {
		return nil
	}
	c := *o
	if c.Connected == nil {
		c.Connected = func(string) {}
	}
	if c.Disconnected == nil {
		c.Disconnected = func(string, DisconnectReason) {}
	}
	if c.Broadcast == nil {
		c.Broadcast = func(string) {}
	}
	if c.AckTimeout == nil {
		c.AckTimeout = func(string) {}
	}
	return &c
}

// engineObserver returns the Engine part of o, or nil if o is nil.
func (o *Observer) engineObserver() *EngineObserver {
	if o == nil {
		return nil
	}
	return &o.Engine
}

// MultiObserver returns an Observer that reports each event to every one
// of observers, in order: a metrics collector's and the Admin UI's meter
// on one server, say. Nil observers, and their nil fields, are skipped. It
// returns nil if no observer is given, and the observer itself if one is.
func MultiObserver(observers ...*Observer) *Observer {
	var list []*Observer
	for _, o := range observers {
		if o != nil {
			list = append(list, o)
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	return &Observer{
		Engine: EngineObserver{
			Opened: func(tr string) {
				for _, o := range list {
					if f := o.Engine.Opened; f != nil {
						f(tr)
					}
				}
			},
			Closed: func(tr string, r session.CloseReason) {
				for _, o := range list {
					if f := o.Engine.Closed; f != nil {
						f(tr, r)
					}
				}
			},
			Upgrade: func(e session.UpgradeEvent) {
				for _, o := range list {
					if f := o.Engine.Upgrade; f != nil {
						f(e)
					}
				}
			},
			Refused: func(c session.Refusal) {
				for _, o := range list {
					if f := o.Engine.Refused; f != nil {
						f(c)
					}
				}
			},
			PacketsIn: func(tr string, packets, bytes int) {
				for _, o := range list {
					if f := o.Engine.PacketsIn; f != nil {
						f(tr, packets, bytes)
					}
				}
			},
			PacketsOut: func(tr string, packets, bytes int) {
				for _, o := range list {
					if f := o.Engine.PacketsOut; f != nil {
						f(tr, packets, bytes)
					}
				}
			},
		},
		Connected: func(nsp string) {
			for _, o := range list {
				if f := o.Connected; f != nil {
					f(nsp)
				}
			}
		},
		Disconnected: func(nsp string, r DisconnectReason) {
			for _, o := range list {
				if f := o.Disconnected; f != nil {
					f(nsp, r)
				}
			}
		},
		Broadcast: func(nsp string) {
			for _, o := range list {
				if f := o.Broadcast; f != nil {
					f(nsp)
				}
			}
		},
		AckTimeout: func(nsp string) {
			for _, o := range list {
				if f := o.AckTimeout; f != nil {
					f(nsp)
				}
			}
		},
	}
}
