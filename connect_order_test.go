package ferry_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
)

// emitOnJoin is a memory adapter that broadcasts "joined" to each socket's
// own room as the socket enters it: a broadcast landing at the moment a
// socket connects.
type emitOnJoin struct {
	*ferry.MemoryAdapter
	nsp *ferry.Namespace
}

func (a *emitOnJoin) AddAll(id string, rooms []string) {
	a.MemoryAdapter.AddAll(id, rooms)
	_ = a.nsp.To(id).Emit("joined")
}

// TestConnectReplyFirst checks that a broadcast that reaches a socket as
// it enters its rooms gets to the client after the CONNECT reply, never
// before it: socket.io's clients take a namespace's events only once
// connected to it (socket.io-client holds earlier ones and hands them out
// before its "connect" event, with the socket's new id).
func TestConnectReplyFirst(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, &ferry.Options{Adapter: func(nsp *ferry.Namespace) ferry.Adapter {
			return &emitOnJoin{MemoryAdapter: ferry.NewMemoryAdapter(nsp), nsp: nsp}
		}})
		r := ts.dialRaw(t, m.name)
		first := r.join("/", nil)
		require.Equal(t, parser.Connect, first.Type, "first packet: %+v", first)
		next, err := r.read()
		require.NoError(t, err)
		require.Equal(t, parser.Event, next.Type)
		require.Equal(t, "joined", next.Event)
	})
}
