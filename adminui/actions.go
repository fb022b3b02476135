package adminui

import (
	"context"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
)

// handleActions carries out what an Admin UI asks, on the sockets of a
// namespace on every server: all of them, or those in the room its filter
// names (the UI names a socket by its id, which is its own room).
//
//	emit        (nsp, filter, event, ...args)  emit an event to them
//	join        (nsp, room, filter)            make them join room
//	leave       (nsp, room, filter)            make them leave room
//	_disconnect (nsp, close, filter)           disconnect them; with close, their connections too
//
// A namespace that does not exist is not made: the action is dropped.
func (i *Instrumentation) handleActions(admin *ferry.Socket) {
	admin.On("emit", func(e *ferry.Event) {
		var name, filter, event string
		if len(e.Args) < 3 || e.Args[0].Decode(&name) != nil || !optionalString(e.Args[1], &filter) || e.Args[2].Decode(&event) != nil {
			i.dropAction(admin, e)
			return
		}
		if b, ok := i.target(name, filter); ok {
			args := make([]any, 0, len(e.Args)-3)
			for _, a := range e.Args[3:] {
				args = append(args, a)
			}
			if err := b.Emit(event, args...); err != nil {
				i.logger.Warn("adminui: emit failed", "namespace", name, "event", event, "err", err)
			}
		}
	})
	rooms := func(join bool) func(*ferry.Event) {
		return func(e *ferry.Event) {
			var name, room, filter string
			if len(e.Args) < 2 || e.Args[0].Decode(&name) != nil || e.Args[1].Decode(&room) != nil ||
				(len(e.Args) > 2 && !optionalString(e.Args[2], &filter)) {
				i.dropAction(admin, e)
				return
			}
			b, ok := i.target(name, filter)
			if !ok {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
			defer cancel()
			var err error
			if join {
				err = b.SocketsJoin(ctx, room)
			} else {
				err = b.SocketsLeave(ctx, room)
			}
			if err != nil {
				i.logger.Warn("adminui: "+e.Name+" failed", "namespace", name, "room", room, "err", err)
			}
		}
	}
	admin.On("join", rooms(true))
	admin.On("leave", rooms(false))
	admin.On("_disconnect", func(e *ferry.Event) {
		var name, filter string
		var close bool
		if len(e.Args) < 2 || e.Args[0].Decode(&name) != nil || e.Args[1].Decode(&close) != nil ||
			(len(e.Args) > 2 && !optionalString(e.Args[2], &filter)) {
			i.dropAction(admin, e)
			return
		}
		b, ok := i.target(name, filter)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
		defer cancel()
		if err := b.DisconnectSockets(ctx, close); err != nil {
			i.logger.Warn("adminui: disconnect failed", "namespace", name, "err", err)
		}
	})
}

// target returns the sockets of the namespace name, or of its room filter
// if not empty; false if there is no such namespace.
func (i *Instrumentation) target(name, filter string) (ferry.Broadcast, bool) {
	for _, nsp := range i.srv.Namespaces() {
		if nsp.Name() == name {
			var rooms []string // none: every socket
			if filter != "" {
				rooms = []string{filter}
			}
			return nsp.In(rooms...), true
		}
	}
	i.logger.Debug("adminui: action for a namespace that does not exist", "namespace", name)
	return ferry.Broadcast{}, false
}

// dropAction logs an action whose arguments are not what the UI sends.
func (i *Instrumentation) dropAction(admin *ferry.Socket, e *ferry.Event) {
	i.logger.Debug("adminui: dropping an action with unexpected arguments", "action", e.Name, "socket", admin.ID())
}

// optionalString decodes a that may be a string, null or undefined (an
// absent filter) into s, and reports whether it was one of these.
func optionalString(a parser.Raw, s *string) bool {
	var v any
	if a.Decode(&v) != nil {
		return false
	}
	switch v := v.(type) {
	case nil:
		*s = ""
		return true
	case string:
		*s = v
		return true
	}
	return false
}
