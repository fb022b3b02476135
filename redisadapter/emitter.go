package redisadapter

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
)

// EmitterOptions configures an Emitter. A nil *EmitterOptions, or any zero
// field, gives the defaults of @socket.io/redis-emitter.
type EmitterOptions struct {
	// Key is the prefix of the channels; it must match the servers'
	// Options.Key. Default "socket.io".
	Key string
}

// Emitter sends to the sockets of a cluster of servers on the classic
// adapter (Ferry's New, or Node's createAdapter) from a process that is
// not one of them, as @socket.io/redis-emitter does: it only publishes,
// and is not counted as a server. It is an immutable value: Of, To, In,
// Except and Volatile return modified copies, so an Emitter may be kept
// and reused, from any goroutine.
//
// The emitter cannot reach servers on the sharded adapter, whose channels
// and messages differ, as Node's cannot.
type Emitter struct {
	client   redis.UniversalClient
	key      string
	nsp      string
	rooms    []string
	except   []string
	volatile bool
}

// NewEmitter returns an emitter to namespace "/" of the servers that
// client's Redis connects. client is not closed by the emitter.
func NewEmitter(client redis.UniversalClient, opts *EmitterOptions) *Emitter {
	key := defaultPrefix
	if opts != nil && opts.Key != "" {
		key = opts.Key
	}
	return &Emitter{client: client, key: key, nsp: "/"}
}

// Of returns a copy that targets namespace nsp ("/" is prefixed if
// missing), with no room selected.
func (e *Emitter) Of(nsp string) *Emitter {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	return &Emitter{client: e.client, key: e.key, nsp: nsp}
}

// To returns a copy that also selects the sockets in rooms.
func (e *Emitter) To(rooms ...string) *Emitter {
	c := *e
	c.rooms = append(slices.Clip(e.rooms), rooms...)
	return &c
}

// In is the same as To.
func (e *Emitter) In(rooms ...string) *Emitter { return e.To(rooms...) }

// Except returns a copy that leaves out the sockets in rooms.
func (e *Emitter) Except(rooms ...string) *Emitter {
	c := *e
	c.except = append(slices.Clip(e.except), rooms...)
	return &c
}

// Volatile returns a copy whose events skip sockets not ready to receive.
func (e *Emitter) Volatile() *Emitter {
	c := *e
	c.volatile = true
	return &c
}

func (e *Emitter) opts() obj {
	flags := obj{}
	if e.volatile {
		flags = append(flags, kv{"volatile", true})
	}
	// The emitter's order: rooms, flags, except.
	return obj{{"rooms", stringList(e.rooms)}, {"flags", flags}, {"except", stringList(e.except)}}
}

func (e *Emitter) requestChannel() string { return e.key + "-request#" + e.nsp + "#" }

// Emit sends an event to the selected sockets, on every server. args may
// be anything ferry.Socket.Emit accepts; binary data and times travel as
// Node's Buffers and Dates. It returns once Redis took the message.
func (e *Emitter) Emit(ctx context.Context, event string, args ...any) error {
	if parser.IsReserved(event) {
		return fmt.Errorf("%w: %q", ferry.ErrReservedEvent, event)
	}
	data := append([]any{event}, values(args)...)
	msg, err := encodeMsgpack([]any{emitterUID, obj{{"type", 2}, {"data", data}, {"nsp", e.nsp}}, e.opts()})
	if err != nil {
		return wrapErr("emit", err)
	}
	channel := e.key + "#" + e.nsp + "#"
	if len(e.rooms) == 1 {
		channel += e.rooms[0] + "#"
	}
	return wrapErr("emit", e.client.Publish(ctx, channel, msg).Err())
}

// SocketsJoin makes the selected sockets join rooms, on every server.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.request(ctx, "socketsJoin", obj{{"type", reqRemoteJoin}, {"opts", e.roomOpts()}, {"rooms", stringList(rooms)}})
}

// SocketsLeave makes the selected sockets leave rooms, on every server.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.request(ctx, "socketsLeave", obj{{"type", reqRemoteLeave}, {"opts", e.roomOpts()}, {"rooms", stringList(rooms)}})
}

// DisconnectSockets disconnects the selected sockets, on every server;
// with close, their connections too.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.request(ctx, "disconnectSockets", obj{{"type", reqRemoteDisconn}, {"opts", e.roomOpts()}, {"close", close}})
}

// ServerSideEmit sends an event to the server-side handlers of every
// server (see ferry.Namespace.OnServerSideEmit). No ack can be asked: the
// emitter hears no answer.
func (e *Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if parser.IsReserved(event) {
		return fmt.Errorf("%w: %q", ferry.ErrReservedEvent, event)
	}
	data := append([]any{event}, values(args)...)
	return e.request(ctx, "serverSideEmit", obj{{"uid", emitterUID}, {"type", reqServerSideEmit}, {"data", data}})
}

func (e *Emitter) roomOpts() obj {
	return obj{{"rooms", stringList(e.rooms)}, {"except", stringList(e.except)}}
}

func (e *Emitter) request(ctx context.Context, what string, msg obj) error {
	b, err := encodeJSON(msg)
	if err != nil {
		return wrapErr(what, err)
	}
	return wrapErr(what, e.client.Publish(ctx, e.requestChannel(), b).Err())
}
