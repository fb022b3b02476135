package adminui

import (
	"sync"
	"time"

	"github.com/ferryio/ferry"
)

// watch instruments a namespace, as the server reports it (see
// Server.OnNamespace): its connections are counted and, in Development
// mode, its sockets, room changes and events are sent to the UI as they
// happen. Events are sent with the time they happened, which the UI shows.
func (i *Instrumentation) watch(nsp *ferry.Namespace) {
	offs := []func(){nsp.OnConnection(i.onConnection)}
	if i.opts.Mode == Development {
		offs = append(offs,
			nsp.OnJoinRoom(func(s *ferry.Socket, room string) {
				if !i.closed.Load() {
					i.emit("room_joined", nsp.Name(), room, s.ID(), time.Now())
				}
			}),
			nsp.OnLeaveRoom(func(s *ferry.Socket, room string) {
				if !i.closed.Load() {
					i.emit("room_left", nsp.Name(), room, s.ID(), time.Now())
				}
			}))
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.watched == nil { // closed meanwhile
		for _, off := range offs {
			off()
		}
		return
	}
	i.watched[nsp] = offs
}

// forgetRemoved drops the handlers of the namespaces the server removed
// (dynamic children, see ferry.Options.CleanupEmptyChildNamespaces).
func (i *Instrumentation) forgetRemoved() {
	current := make(map[*ferry.Namespace]bool)
	for _, nsp := range i.srv.Namespaces() {
		current[nsp] = true
	}
	i.mu.Lock()
	var offs []func()
	for nsp, fs := range i.watched {
		if !current[nsp] {
			offs = append(offs, fs...)
			delete(i.watched, nsp)
		}
	}
	i.mu.Unlock()
	for _, off := range offs {
		off()
	}
}

// onConnection follows a socket that connected.
func (i *Instrumentation) onConnection(s *ferry.Socket) {
	if i.closed.Load() {
		return
	}
	if i.opts.Meter == nil {
		i.conns.seen(s.Conn())
	}
	if i.opts.Mode != Development {
		return
	}
	nsp := s.Namespace().Name()
	// A connection handler that ran before this one may have disconnected
	// the socket, and a disconnect handler added too late never runs: the
	// UI is told of the socket only if it is still connected once the
	// disconnect handler is in place, and then of its disconnection.
	var mu sync.Mutex
	announced, gone := false, false
	s.OnDisconnect(func(s *ferry.Socket, reason ferry.DisconnectReason) {
		mu.Lock()
		defer mu.Unlock()
		gone = true
		if announced && !i.closed.Load() {
			i.emit("socket_disconnected", nsp, s.ID(), reason.String(), time.Now())
		}
	})
	mu.Lock()
	if !gone && s.Connected() {
		announced = true
		i.emit("socket_connected", describe(s), time.Now())
	}
	mu.Unlock()
	if !announced {
		return
	}
	s.Conn().OnUpgrade(func(transport string) {
		if !i.closed.Load() {
			i.emit("socket_updated", map[string]any{"id": s.ID(), "nsp": nsp, "transport": transport})
		}
	})
	if s.Namespace() == i.admin {
		return // the UI's own events are not shown to it
	}
	s.OnAny(func(e *ferry.Event) {
		if i.closed.Load() {
			return
		}
		args := make([]any, 0, 1+len(e.Args))
		args = append(args, e.Name)
		for _, a := range e.Args {
			args = append(args, a)
		}
		i.emit("event_received", nsp, s.ID(), args, time.Now())
	})
	s.OnAnyOutgoing(func(event string, args []any) {
		if !i.closed.Load() {
			i.emit("event_sent", nsp, s.ID(), append([]any{event}, args...), time.Now())
		}
	})
}
