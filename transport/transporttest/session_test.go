package transporttest_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/transport/transporttest"
)

// stubTransport counts Wakes and does nothing else.
type stubTransport struct {
	wakes atomic.Int32
	done  chan struct{}
}

func newStub() *stubTransport { return &stubTransport{done: make(chan struct{})} }

func (t *stubTransport) Name() string          { return "stub" }
func (t *stubTransport) Wake()                 { t.wakes.Add(1) }
func (t *stubTransport) Close() error          { return nil }
func (t *stubTransport) Done() <-chan struct{} { return t.done }

func TestSessionTakeServesOnlyTheWriter(t *testing.T) {
	t.Parallel()
	s := transporttest.NewSession()
	a, b := newStub(), newStub()
	s.Push(transport.TextPacket("1"))
	assert.Zero(t, a.wakes.Load(), "no writer to wake yet")

	pkts, last := s.Take(a)
	assert.Nil(t, pkts, "Take by a transport that is not the writer")
	assert.False(t, last)

	s.Bind(a)
	assert.Equal(t, int32(1), a.wakes.Load(), "Bind wakes the new writer")
	s.Push(transport.TextPacket("2"), transport.BinaryPacket([]byte{3}))
	assert.Equal(t, int32(2), a.wakes.Load(), "Push wakes the writer")
	assert.Equal(t, 3, s.Queued())

	pkts, _ = s.Take(b)
	assert.Nil(t, pkts)
	pkts, last = s.Take(a)
	assert.False(t, last)
	assert.Equal(t, []transport.Packet{transport.TextPacket("1"), transport.TextPacket("2"), transport.BinaryPacket([]byte{3})}, pkts)
	assert.Zero(t, s.Queued())
	pkts, _ = s.Take(a)
	assert.Nil(t, pkts, "empty queue")

	s.Bind(b)
	s.Push(transport.TextPacket("4"))
	assert.Equal(t, int32(2), a.wakes.Load(), "the old writer is not woken")
	pkts, _ = s.Take(a)
	assert.Nil(t, pkts, "Take by the old writer")
	pkts, _ = s.Take(b)
	assert.Equal(t, []transport.Packet{transport.TextPacket("4")}, pkts)

	assert.Len(t, s.Pushed(), 4)
	assert.NoError(t, s.Err())
}

func TestSessionPushedIsACopy(t *testing.T) {
	t.Parallel()
	s := transporttest.NewSession()
	data := []byte("abc")
	s.Push(transport.TextPacket(string(data)), transport.BinaryPacket(data))
	data[0] = 'X'
	assert.Equal(t, []transport.Packet{transport.TextPacket("abc"), transport.BinaryPacket([]byte("abc"))}, s.Pushed())
}

func TestSessionLast(t *testing.T) {
	t.Parallel()
	s := transporttest.NewSession()
	a := newStub()
	s.Bind(a)
	s.Push(transport.TextPacket("1"))
	s.PushLast(transport.Packet{Type: transport.Close})
	assert.Panics(t, func() { s.Push(transport.TextPacket("late")) })
	pkts, last := s.Take(a)
	assert.True(t, last)
	assert.Equal(t, []transport.Packet{transport.TextPacket("1"), {Type: transport.Close}}, pkts)
	require.NoError(t, s.Err())

	s.Take(a)
	assert.ErrorContains(t, s.Err(), "after a Take that returned last")
	assert.Panics(t, func() { transporttest.NewSession().PushLast() })
}

func TestSessionLastOnlyWithTheFinalPacket(t *testing.T) {
	t.Parallel()
	s := transporttest.NewSession()
	a := newStub()
	s.Bind(a)
	s.Push(transport.TextPacket("1"))
	pkts, last := s.Take(a)
	assert.Len(t, pkts, 1)
	assert.False(t, last)
	s.PushLast(transport.TextPacket("2"))
	pkts, last = s.Take(a)
	assert.Len(t, pkts, 1)
	assert.True(t, last)
}

func TestSessionDeliver(t *testing.T) {
	t.Parallel()
	s := transporttest.NewSession()
	a := newStub()
	ctx := t.Context()

	waited := make(chan []transport.Packet, 1)
	go func() {
		pkts, _ := s.WaitDelivered(ctx, 2)
		waited <- pkts
	}()
	require.NoError(t, s.Deliver(a, transport.TextPacket("1")))
	require.NoError(t, s.Deliver(a, transport.TextPacket("2")))
	assert.Equal(t, []transport.Packet{transport.TextPacket("1"), transport.TextPacket("2")}, <-waited)

	short, cancel := context.WithCancel(ctx)
	cancel()
	got, err := s.WaitDelivered(short, 3)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Len(t, got, 2)

	refused := errors.New("refused")
	var hooked transport.Transport
	s.OnDeliver(func(tr transport.Transport, p transport.Packet) error {
		hooked = tr
		if string(p.Data) == "bad" {
			return refused
		}
		return nil
	})
	require.NoError(t, s.Deliver(a, transport.TextPacket("3")))
	assert.Same(t, a, hooked)
	assert.ErrorIs(t, s.Deliver(a, transport.TextPacket("bad")), refused)
	rejected, err := s.WaitRejected(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, []transport.Packet{transport.TextPacket("bad")}, rejected)
	assert.Len(t, s.Delivered(), 3)
	require.NoError(t, s.Err())

	s.OnDeliver(nil)
	require.NoError(t, s.Deliver(a, transport.TextPacket("4")))
	assert.ErrorContains(t, s.Err(), "after Deliver returned an error")
}

func TestSessionTransportClosed(t *testing.T) {
	t.Parallel()
	s := transporttest.NewSession()
	a, b := newStub(), newStub()
	ctx := t.Context()

	_, closed := s.ClosedReason(a)
	assert.False(t, closed)
	reasons := make(chan error, 1)
	go func() {
		reason, _ := s.WaitClosed(ctx, a)
		reasons <- reason
	}()
	gone := errors.New("gone")
	s.TransportClosed(a, gone)
	assert.ErrorIs(t, <-reasons, gone)
	reason, closed := s.ClosedReason(a)
	assert.True(t, closed)
	assert.ErrorIs(t, reason, gone)

	s.TransportClosed(b, nil)
	reason, closed = s.ClosedReason(b)
	assert.True(t, closed)
	assert.NoError(t, reason)
	require.NoError(t, s.Err())

	s.TransportClosed(a, nil)
	assert.ErrorContains(t, s.Err(), "called again")
	reason, _ = s.ClosedReason(a)
	assert.ErrorIs(t, reason, gone, "the first reason is kept")

	s.Bind(a)
	s.Take(a)
	assert.ErrorContains(t, s.Err(), "Take by stub transport")
	s.Deliver(b, transport.TextPacket("x"))
	assert.ErrorContains(t, s.Err(), "Deliver by stub transport")
}

func TestSessionTransportClosedDuringDeliver(t *testing.T) {
	t.Parallel()
	s := transporttest.NewSession()
	a := newStub()
	s.OnDeliver(func(tr transport.Transport, _ transport.Packet) error {
		s.TransportClosed(tr, nil)
		return nil
	})
	require.NoError(t, s.Deliver(a, transport.TextPacket("x")))
	assert.ErrorContains(t, s.Err(), "while 1 of its Deliver calls had not returned")
}

func TestSessionWaitClosedCanceled(t *testing.T) {
	t.Parallel()
	s := transporttest.NewSession()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.WaitClosed(ctx, newStub())
	assert.ErrorIs(t, err, context.Canceled)
}
