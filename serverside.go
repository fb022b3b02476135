package ferry

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ferryio/ferry/parser"
)

// ServerSideEmit sends an event to the handlers that the other servers
// sharing the namespace registered with OnServerSideEmit (socket.io's
// serverSideEmit). This server's own handlers do not receive it. With one
// server it does nothing.
func (n *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if parser.IsReserved(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	return n.adapter.ServerSideEmit(ctx, eventArgs(event, args), nil)
}

// ServerSideEmitWithAck sends an event as ServerSideEmit does, and waits
// for every other server to acknowledge it, until ctx is done. It returns
// each server's ack (with one server, none). If some are missing at the
// deadline, it returns those that came with an error wrapping ctx's; a
// cluster adapter also stops waiting after its own request timeout.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Args, error) {
	if parser.IsReserved(event) {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	acks := newAckCollector()
	err := n.adapter.ServerSideEmit(ctx, eventArgs(event, args), acks)
	acks.seal()
	got, waitErr := acks.wait(ctx, fmt.Sprintf("server-side acks for %q", event))
	return got, errors.Join(err, waitErr)
}

// OnServerSideEmit adds a handler for the named event sent by another
// server with ServerSideEmit (socket.io's nsp.on(event) for server-side
// events). The handler's Event has no Socket; if the sender asked for an
// ack, Event.Ack answers it. Handlers run on the adapter's goroutine, one
// event at a time. It returns a function that removes the handler.
func (n *Namespace) OnServerSideEmit(event string, h func(e *Event)) (off func()) {
	l := eventListener{event, listener[func(*Event)]{h, n.server.newListenerID(false)}}
	n.serverSide.mu.Lock()
	n.serverSide.handlers = append(n.serverSide.handlers, l)
	n.serverSide.mu.Unlock()
	return func() {
		n.serverSide.mu.Lock()
		n.serverSide.handlers, _ = without(n.serverSide.handlers, l.id)
		n.serverSide.mu.Unlock()
	}
}

// OffServerSideEmit removes every handler of the named server-side event.
// To remove one, call the function OnServerSideEmit returned.
func (n *Namespace) OffServerSideEmit(event string) {
	n.serverSide.mu.Lock()
	n.serverSide.handlers = withoutEvent(n.serverSide.handlers, event)
	n.serverSide.mu.Unlock()
}

// ServerSideListeners returns the handlers of the named server-side event,
// in the order they run.
func (n *Namespace) ServerSideListeners(event string) []func(e *Event) {
	n.serverSide.mu.Lock()
	defer n.serverSide.mu.Unlock()
	return eventFuncs(n.serverSide.handlers, event)
}

// ServerSideListenerCount returns the number of handlers of the named
// server-side event.
func (n *Namespace) ServerSideListenerCount(event string) int {
	n.serverSide.mu.Lock()
	defer n.serverSide.mu.Unlock()
	return countEvent(n.serverSide.handlers, event)
}

// serverSideHandlers are a namespace's OnServerSideEmit handlers.
type serverSideHandlers struct {
	mu       sync.Mutex
	handlers []eventListener // guarded by mu: copy-on-write (see listeners.go)
}

// ReceiveServerSideEmit runs the namespace's OnServerSideEmit handlers for
// an event another server sent: args holds the event's name, then its
// arguments. With ack non-nil the sender asked for an ack: the first
// handler's Event.Ack calls it, once, with the ack's arguments. Cluster
// adapters call it. It reports an error when args does not start with an
// event name.
func (n *Namespace) ReceiveServerSideEmit(args Args, ack func(args []any)) error {
	if len(args) == 0 {
		return errors.New("ferry: server-side event without a name")
	}
	var name string
	if err := args[0].Decode(&name); err != nil {
		return fmt.Errorf("ferry: server-side event name: %w", err)
	}
	e := &Event{Name: name, Args: args[1:], wantsAck: ack != nil}
	if ack != nil {
		e.reply = func(args []any) error {
			ack(args)
			return nil
		}
	}
	n.serverSide.mu.Lock()
	handlers := n.serverSide.handlers
	n.serverSide.mu.Unlock()
	for _, h := range handlers {
		if h.event == name {
			h.f(e)
		}
	}
	return nil
}

// ServerCount returns the number of servers sharing the namespace, this
// one included.
func (n *Namespace) ServerCount(ctx context.Context) (int, error) { return n.adapter.ServerCount(ctx) }

// Rooms returns every room that has a socket of the namespace, on any
// server, the sockets' own rooms included.
func (n *Namespace) Rooms(ctx context.Context) ([]string, error) { return n.adapter.Rooms(ctx) }
