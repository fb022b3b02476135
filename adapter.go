package ferry

import (
	"context"
	"time"
)

// Adapter keeps a namespace's rooms and carries its broadcasts. The
// default, NewMemoryAdapter, serves one server; an adapter for several
// servers (over Redis, say) embeds a *MemoryAdapter for local delivery and
// forwards to its peers what is not Local. Every method must be safe for
// concurrent use.
type Adapter interface {
	// AddAll adds socket id to rooms.
	AddAll(id string, rooms []string)
	// Del removes socket id from room.
	Del(id string, room string)
	// DelAll removes socket id from every room.
	DelAll(id string)
	// SocketRooms returns the rooms socket id is in.
	SocketRooms(id string) []string
	// Broadcast delivers pkt to the sockets opts selects.
	Broadcast(pkt *EncodedPacket, opts BroadcastOptions)
	// BroadcastWithAck delivers pkt, which asks for an ack, to the sockets
	// opts selects. It calls acks.Expect with the number of sockets
	// reached (on every server), and each ack goes to acks.Receive.
	BroadcastWithAck(pkt *EncodedPacket, opts BroadcastOptions, acks *AckCollector)
	// FetchSockets describes the sockets opts selects.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]*RemoteSocket, error)
	// AddSockets makes the sockets opts selects join rooms.
	AddSockets(opts BroadcastOptions, rooms []string)
	// DelSockets makes the sockets opts selects leave rooms.
	DelSockets(opts BroadcastOptions, rooms []string)
	// DisconnectSockets disconnects the sockets opts selects.
	DisconnectSockets(opts BroadcastOptions, close bool)
	// Close releases the adapter's resources when the server closes.
	Close() error
}

// RemoteSocket describes a socket found by FetchSockets, on this server or
// another. Its methods act through the adapter, so they work wherever the
// socket is.
type RemoteSocket struct {
	ID        string
	Handshake *Handshake
	Rooms     []string
	// Data is the value the socket stored with SetData.
	Data any

	nsp *Namespace
}

// NewRemoteSocket returns a RemoteSocket of nsp, for adapters that fetch
// sockets from other servers.
func NewRemoteSocket(nsp *Namespace, id string, hs *Handshake, rooms []string, data any) *RemoteSocket {
	return &RemoteSocket{ID: id, Handshake: hs, Rooms: rooms, Data: data, nsp: nsp}
}

func (r *RemoteSocket) only() Broadcast { return r.nsp.broadcast().To(r.ID) }

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error { return r.only().Emit(event, args...) }

// EmitWithAck sends an event to the socket and waits up to timeout for its
// ack.
func (r *RemoteSocket) EmitWithAck(ctx context.Context, timeout time.Duration, event string, args ...any) (Args, error) {
	acks, err := r.only().Timeout(timeout).EmitWithAck(ctx, event, args...)
	if len(acks) > 0 {
		return acks[0], nil
	}
	if err == nil {
		err = ErrDisconnected
	}
	return nil, err
}

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(rooms ...string) { r.only().SocketsJoin(rooms...) }

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(rooms ...string) { r.only().SocketsLeave(rooms...) }

// Disconnect disconnects the socket; with close, its connection too.
func (r *RemoteSocket) Disconnect(close bool) { r.only().DisconnectSockets(close) }
