package transporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// Peer is the client end of a transport under test.
type Peer interface {
	// Send sends pkts, at least one, from the client to the server as a real
	// client would: long-polling sends them as one POST payload, a WebSocket
	// as one frame per packet (binary messages in binary frames). It returns
	// once they are handed over (polling: once the POST is answered) and
	// fails if the transport refused them or the connection failed.
	Send(ctx context.Context, pkts ...transport.Packet) error
	// Receive waits for the next non-empty batch of packets the server wrote
	// and returns it, in order: long-polling makes one GET and returns its
	// decoded payload; a WebSocket reads one frame, and may return further
	// frames already buffered with it. Once the transport has ended it
	// returns a non-nil error, or a batch of only Close and Noop packets
	// (such as the "1" that answers a GET on a closed polling transport).
	// It returns ctx's error when ctx ends first.
	Receive(ctx context.Context) ([]transport.Packet, error)
	// Close makes the client vanish abruptly, the way a browser tab closes:
	// no close packet, no close frame. The transport must be able to see it:
	// a WebSocket peer drops the TCP connection; a polling peer, which is
	// only visible through its requests, makes sure a GET has reached the
	// server and then drops that GET's connection. Close may be called more
	// than once, and concurrently with Send and Receive, which it makes
	// return.
	Close() error
}

// MakeTransport starts a transport bound to s and returns it with its
// client Peer. It is called inside each subtest, once or (for SharedPackets)
// twice, so it may use t.Cleanup (for an httptest.Server, say) and t.Fatal. The transport
// must not be s's writer yet: Run calls Bind itself.
type MakeTransport func(t *testing.T, s transport.Session) (transport.Transport, Peer)

// Timeout bounds each subtest of Run: a Receive, Send or wait that has not
// finished by then fails the subtest.
const Timeout = 10 * time.Second

// Run tests the transport made by mk against the contract in the package
// documentation. Each property is a parallel subtest with its own Session,
// transport and Peer, which the subtest closes and waits for when it ends.
func Run(t *testing.T, mk MakeTransport) {
	t.Helper()
	tests := []struct {
		name string
		bind bool
		f    func(*testing.T, *harness)
	}{
		{"Name", true, testName},
		{"ServerToClient", true, testServerToClient},
		{"ClientToServer", true, testClientToServer},
		{"Bidirectional", true, testBidirectional},
		{"WakeEmptyQueue", true, testWakeEmptyQueue},
		{"ConcurrentWake", true, testConcurrentWake},
		{"LargePackets", true, testLargePackets},
		{"SharedPackets", true, testSharedPackets},
		{"NotWriter", false, testNotWriter},
		{"Close", true, testClose},
		{"LastQueued", true, testLastQueued},
		{"LastParked", true, testLastParked},
		{"PeerClose", true, testPeerClose},
		{"DeliverRejected", true, testDeliverRejected},
		{"DeliverUnexpected", true, testDeliverUnexpected},
		{"CloseInDeliver", true, testCloseInDeliver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.f(t, start(t, mk, tt.bind))
		})
	}
}

// harness is one subtest's transport, peer and session.
type harness struct {
	t    *testing.T
	mk   MakeTransport
	ctx  context.Context // ends at Timeout or when the subtest ends
	s    *Session
	tr   transport.Transport
	peer Peer
	bg   sync.WaitGroup // background Receive and Send calls
}

func start(t *testing.T, mk MakeTransport, bind bool) *harness {
	t.Helper()
	s := NewSession()
	tr, peer := mk(t, s)
	require.NotNil(t, tr, "MakeTransport returned a nil transport")
	require.NotNil(t, peer, "MakeTransport returned a nil peer")
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	h := &harness{t: t, mk: mk, ctx: ctx, s: s, tr: tr, peer: peer}
	t.Cleanup(func() {
		cancel()
		tr.Close()
		peer.Close()
		bgDone := make(chan struct{})
		go func() { h.bg.Wait(); close(bgDone) }()
		deadline := time.NewTimer(Timeout)
		defer deadline.Stop()
		select {
		case <-bgDone:
		case <-deadline.C:
			t.Errorf("Peer calls still running %v after the transport and peer were closed", Timeout)
		}
		select {
		case <-tr.Done():
		case <-deadline.C:
			t.Errorf("transport not done %v after Close", Timeout)
		}
		if err := s.Err(); err != nil {
			t.Error(err)
		}
	})
	if bind {
		s.Bind(tr)
	}
	return h
}

type received struct {
	pkts []transport.Packet
	err  error
}

// goReceive runs one Receive in the background.
func (h *harness) goReceive() <-chan received {
	ch := make(chan received, 1)
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		pkts, err := h.peer.Receive(h.ctx)
		ch <- received{pkts, err}
	}()
	return ch
}

// goCollect receives in the background until n packets have arrived.
func (h *harness) goCollect(n int) <-chan received {
	ch := make(chan received, 1)
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		var all []transport.Packet
		for len(all) < n {
			pkts, err := h.peer.Receive(h.ctx)
			if err == nil && len(pkts) == 0 {
				err = errors.New("Receive returned an empty batch and no error")
			}
			all = append(all, pkts...)
			if err != nil {
				ch <- received{all, fmt.Errorf("after %d of %d packets: %w", len(all), n, err)}
				return
			}
		}
		ch <- received{all, nil}
	}()
	return ch
}

// await returns the result of a background Receive or collection.
func (h *harness) await(ch <-chan received) received {
	h.t.Helper()
	select {
	case r := <-ch:
		return r
	case <-h.ctx.Done():
		h.t.Fatalf("Peer.Receive did not return: %v", h.ctx.Err())
		return received{}
	}
}

// collect receives until n packets have arrived, starting with first.
func (h *harness) collect(n int, first ...transport.Packet) []transport.Packet {
	h.t.Helper()
	all := append([]transport.Packet(nil), first...)
	if len(all) < n {
		r := h.await(h.goCollect(n - len(all)))
		all = append(all, r.pkts...)
		require.NoError(h.t, r.err)
	}
	require.Len(h.t, all, n, "the peer received more packets than were pushed")
	return all
}

// waitDone waits for the transport to end and returns the reason it gave
// TransportClosed, which must have been called by then.
func (h *harness) waitDone() error {
	h.t.Helper()
	select {
	case <-h.tr.Done():
	case <-h.ctx.Done():
		h.t.Fatalf("transport did not end: %v", h.ctx.Err())
	}
	reason, closed := h.s.ClosedReason(h.tr)
	require.True(h.t, closed, "Done is closed but TransportClosed has not been called")
	return reason
}

// expectEnd checks that the peer sees the transport's end: Receive fails, or
// returns only Close and Noop packets.
func (h *harness) expectEnd() {
	h.t.Helper()
	for range 3 {
		pkts, err := h.peer.Receive(h.ctx)
		if err != nil {
			require.NotErrorIs(h.t, err, context.DeadlineExceeded, "Receive on an ended transport blocked")
			return
		}
		sawClose := false
		for _, p := range pkts {
			require.Containsf(h.t, []transport.PacketType{transport.Close, transport.Noop}, p.Type,
				"the peer received %v after the transport ended", p)
			sawClose = sawClose || p.Type == transport.Close
		}
		if sawClose {
			return
		}
	}
	h.t.Fatal("Receive on an ended transport returned only noops, three times")
}

// send sends pkts in chunks of 1 to 7 packets.
func (h *harness) send(pkts []transport.Packet) {
	h.t.Helper()
	for i, size := 0, 1; i < len(pkts); size = size%7 + 1 {
		end := min(i+size, len(pkts))
		require.NoError(h.t, h.peer.Send(h.ctx, pkts[i:end]...), "Send of packets %d to %d", i, end)
		i = end
	}
}

// push pushes pkts in chunks of 1 to 5 packets.
func (h *harness) push(pkts []transport.Packet) {
	for i, size := 0, 1; i < len(pkts); size = size%5 + 1 {
		end := min(i+size, len(pkts))
		h.s.Push(pkts[i:end]...)
		i = end
	}
}

func testName(t *testing.T, h *harness) {
	name := h.tr.Name()
	assert.NotEmpty(t, name)
	assert.Equal(t, name, h.tr.Name(), "Name changed between calls")
}

// Server to client: every pushed packet arrives once, in order, with its
// kind, whether pushed before the peer polls or while it waits.
func testServerToClient(t *testing.T, h *harness) {
	before := mixedPackets("early", 30)
	h.push(before)
	got := h.collect(len(before))

	during := mixedPackets("late", 120)
	ch := h.goCollect(len(during))
	h.push(during)
	r := h.await(ch)
	require.NoError(t, r.err)
	got = append(got, r.pkts...)

	requirePackets(t, h.s.Pushed(), got)
	assert.Zero(t, h.s.Queued())
}

// Client to server: every sent packet is delivered once, in order, with its
// kind and every packet type passed on uninterpreted.
func testClientToServer(t *testing.T, h *harness) {
	sent := mixedPackets("up", 150)
	h.send(sent)
	got, err := h.s.WaitDelivered(h.ctx, len(sent))
	require.NoError(t, err, "waiting for deliveries")
	requirePackets(t, sent, got)
}

// Both directions at once.
func testBidirectional(t *testing.T, h *harness) {
	down := mixedPackets("down", 100)
	up := mixedPackets("up", 100)
	ch := h.goCollect(len(down))
	pushed := make(chan struct{})
	go func() {
		defer close(pushed)
		h.push(down)
	}()
	h.send(up)
	<-pushed
	r := h.await(ch)
	require.NoError(t, r.err)
	requirePackets(t, h.s.Pushed(), r.pkts)
	got, err := h.s.WaitDelivered(h.ctx, len(up))
	require.NoError(t, err)
	requirePackets(t, up, got)
}

// Wake with nothing queued returns at once and writes nothing: the next
// thing the peer receives is the next packet pushed.
func testWakeEmptyQueue(t *testing.T, h *harness) {
	ch := h.goReceive()
	woken := make(chan struct{})
	go func() {
		defer close(woken)
		for range 100 {
			h.tr.Wake()
		}
	}()
	select {
	case <-woken:
	case <-h.ctx.Done():
		t.Fatal("Wake blocked")
	}
	want := transport.TextPacket("after empty wakes")
	h.s.Push(want)
	r := h.await(ch)
	require.NoError(t, r.err)
	require.NotEmpty(t, r.pkts, "Receive returned an empty batch")
	requirePackets(t, []transport.Packet{want}, r.pkts)
}

// Wake from many goroutines while others push: no packet lost, duplicated
// or reordered relative to the session's queue.
func testConcurrentWake(t *testing.T, h *harness) {
	const pushers, perPusher, wakers = 8, 25, 4
	ch := h.goCollect(pushers * perPusher)
	var wg sync.WaitGroup
	for w := range wakers {
		wg.Go(func() {
			for i := range 200 {
				h.tr.Wake()
				if i%10 == w {
					runtime.Gosched()
				}
			}
		})
	}
	for p := range pushers {
		wg.Go(func() {
			for i := range perPusher {
				if i%3 == 0 {
					h.s.Push(transport.BinaryPacket([]byte{byte(p), byte(i), 0x1e}))
				} else {
					h.s.Push(transport.TextPacket(fmt.Sprintf("pusher %d packet %d", p, i)))
				}
				h.tr.Wake()
			}
		})
	}
	wg.Wait()
	r := h.await(ch)
	require.NoError(t, r.err)
	requirePackets(t, h.s.Pushed(), r.pkts)
}

// Packets around the WebSocket frame-length boundaries (125/126 bytes,
// 64 KiB) travel intact both ways.
func testLargePackets(t *testing.T, h *harness) {
	rng := rand.New(rand.NewPCG(1, 2))
	var pkts []transport.Packet
	for _, n := range []int{125, 126, 65535, 65536, 65537} {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(rng.UintN(256))
		}
		pkts = append(pkts, transport.BinaryPacket(data))
	}
	for _, n := range []int{126, 65535, 65536} {
		pkts = append(pkts, transport.TextPacket(textOfLen(n)))
	}

	h.s.Push(pkts...)
	requirePackets(t, h.s.Pushed(), h.collect(len(pkts)))

	for _, p := range pkts {
		require.NoError(t, h.peer.Send(h.ctx, p))
	}
	got, err := h.s.WaitDelivered(h.ctx, len(pkts))
	require.NoError(t, err)
	requirePackets(t, pkts, got)
}

// A broadcast packet (one carrying a FrameCache) goes to many sessions and
// may be pushed more than once: each copy arrives intact on every transport.
func testSharedPackets(t *testing.T, h *harness) {
	other := start(t, h.mk, true)
	shared := []transport.Packet{
		transport.TextPacket(`2["news",{"n":1}]`),
		transport.BinaryPacket([]byte{0x1e, 0, 0xff}),
		transport.TextPacket(""),
		transport.BinaryPacket([]byte{}),
		transport.TextPacket("€" + textOfLen(300)),
	}
	for i := range shared {
		shared[i].Shared = new(transport.FrameCache)
	}
	chs := []<-chan received{h.goCollect(2 * len(shared)), other.goCollect(2 * len(shared))}
	for range 2 {
		h.s.Push(shared...)
		other.s.Push(shared...)
	}
	for i, ch := range chs {
		r := h.await(ch)
		require.NoError(t, r.err, "transport %d", i)
		requirePackets(t, append(shared, shared...), r.pkts)
	}
}

// A transport that is not the session's writer gets nothing from Take and
// keeps waiting; once it is made the writer and woken, it writes the queue.
func testNotWriter(t *testing.T, h *harness) {
	ch := h.goReceive()
	want := []transport.Packet{transport.TextPacket("queued before bind"), transport.BinaryPacket([]byte{7})}
	h.s.Push(want...)
	h.tr.Wake()
	h.tr.Wake()
	h.s.Bind(h.tr)
	r := h.await(ch)
	require.NoError(t, r.err)
	require.NotEmpty(t, r.pkts, "Receive returned an empty batch")
	requirePackets(t, want, h.collect(len(want), r.pkts...))
}

// Close ends the transport: it releases a pending Receive, Done closes,
// TransportClosed(nil) has been called, later Closes return nil, and
// nothing is taken or delivered afterwards.
func testClose(t *testing.T, h *harness) {
	pending := h.goReceive()
	h.tr.Close()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = h.tr.Close() })
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "Close call %d after the first", i+2)
	}
	assert.NoError(t, h.waitDone(), "TransportClosed reason after Close")

	r := h.await(pending)
	if r.err == nil {
		for _, p := range r.pkts {
			assert.Containsf(t, []transport.PacketType{transport.Close, transport.Noop}, p.Type,
				"a Receive pending at Close got %v", p)
		}
	}

	// An ended transport ignores Wake, takes nothing, delivers nothing.
	h.tr.Wake()
	h.s.Push(transport.TextPacket("after close"))
	h.expectEnd()
	_ = h.peer.Send(h.ctx, transport.TextPacket("after close"))
	assert.Empty(t, h.s.Delivered())
	assert.NoError(t, h.tr.Close())
}

// A batch taken with last == true is written, then the transport ends with
// a nil reason: here the batch was queued before the peer polled.
func testLastQueued(t *testing.T, h *harness) {
	want := mixedPackets("final", 5)
	h.s.PushLast(want...)
	requirePackets(t, want, h.collect(len(want)))
	assert.NoError(t, h.waitDone(), "TransportClosed reason after a last batch")
	h.expectEnd()
	assert.Zero(t, h.s.Queued())
}

// As LastQueued, with the final batch pushed while the peer waits.
func testLastParked(t *testing.T, h *harness) {
	h.s.Push(transport.TextPacket("first"))
	requirePackets(t, []transport.Packet{transport.TextPacket("first")}, h.collect(1))
	ch := h.goReceive()
	want := mixedPackets("final", 5)
	h.s.PushLast(want...)
	r := h.await(ch)
	require.NoError(t, r.err)
	require.NotEmpty(t, r.pkts, "Receive returned an empty batch")
	requirePackets(t, want, h.collect(len(want), r.pkts...))
	assert.NoError(t, h.waitDone(), "TransportClosed reason after a last batch")
	h.expectEnd()
}

// A client that vanishes ends the transport with a non-nil reason.
func testPeerClose(t *testing.T, h *harness) {
	h.s.Push(transport.TextPacket("hello"))
	requirePackets(t, []transport.Packet{transport.TextPacket("hello")}, h.collect(1))
	require.NoError(t, h.peer.Send(h.ctx, transport.TextPacket("hi")))
	_, err := h.s.WaitDelivered(h.ctx, 1)
	require.NoError(t, err)

	h.peer.Close()
	assert.Error(t, h.waitDone(), "TransportClosed reason after the peer vanished")
}

// After Deliver returns an error the transport delivers nothing more; the
// session then closes it.
func testDeliverRejected(t *testing.T, h *harness) {
	refused := errors.New("transporttest: session refuses packets")
	h.s.OnDeliver(func(transport.Transport, transport.Packet) error { return refused })
	sent := []transport.Packet{transport.TextPacket("a"), transport.TextPacket("b"), transport.TextPacket("c")}
	_ = h.peer.Send(h.ctx, sent...) // polling answers the POST with an error status
	_, err := h.s.WaitRejected(h.ctx, 1)
	require.NoError(t, err)
	h.tr.Close()
	h.waitDone()
	requirePackets(t, sent[:1], h.s.Rejected())
	assert.Empty(t, h.s.Delivered())
}

// A packet the session refuses as unexpected (a protocol violation) ends
// the transport with that error as its reason, without the session
// closing it.
func testDeliverUnexpected(t *testing.T, h *harness) {
	unexpected := fmt.Errorf("transporttest: ping from the client: %w", transport.ErrUnexpectedPacket)
	h.s.OnDeliver(func(transport.Transport, transport.Packet) error { return unexpected })
	sent := []transport.Packet{{Type: transport.Ping}, transport.TextPacket("after")}
	_ = h.peer.Send(h.ctx, sent...)
	assert.ErrorIs(t, h.waitDone(), transport.ErrUnexpectedPacket, "TransportClosed reason")
	requirePackets(t, sent[:1], h.s.Rejected())
	assert.Empty(t, h.s.Delivered())
}

// The session may close the transport from inside Deliver, as it does when
// the packet is a close packet: Close must not wait for Deliver to return.
func testCloseInDeliver(t *testing.T, h *harness) {
	closing := errors.New("transporttest: session closing")
	h.s.OnDeliver(func(tr transport.Transport, _ transport.Packet) error {
		tr.Close()
		return closing
	})
	sent := []transport.Packet{{Type: transport.Close}, transport.TextPacket("after close")}
	_ = h.peer.Send(h.ctx, sent...)
	assert.NoError(t, h.waitDone(), "TransportClosed reason after Close")
	requirePackets(t, sent[:1], h.s.Rejected())
	assert.Empty(t, h.s.Delivered())
}

// mixedPackets returns n distinct packets cycling through every type, text
// and binary, empty data, multi-byte UTF-8, binary data holding the record
// separator or invalid UTF-8, text that looks like a base64 record and
// binary that looks like a text packet.
func mixedPackets(tag string, n int) []transport.Packet {
	pkts := make([]transport.Packet, n)
	for i := range pkts {
		id := fmt.Sprintf("%s-%d", tag, i)
		switch i % 13 {
		case 0:
			pkts[i] = transport.TextPacket("hello " + id)
		case 1:
			pkts[i] = transport.BinaryPacket([]byte{byte(i), 0x1e, 0xff, 0x00, 0xfe, byte(i >> 8)})
		case 2:
			pkts[i] = transport.Packet{Type: transport.Ping, Data: []byte("probe")}
		case 3:
			pkts[i] = transport.TextPacket("")
		case 4:
			pkts[i] = transport.BinaryPacket([]byte{})
		case 5:
			pkts[i] = transport.TextPacket("€ 😀 ünïcödé " + id)
		case 6:
			pkts[i] = transport.Packet{Type: transport.Pong, Data: []byte(id)}
		case 7:
			pkts[i] = transport.TextPacket("bAQIDBA==")
		case 8:
			pkts[i] = transport.BinaryPacket([]byte("4" + id))
		case 9:
			pkts[i] = transport.Packet{Type: transport.Noop}
		case 10:
			pkts[i] = transport.Packet{Type: transport.Open, Data: []byte(`{"sid":"` + id + `"}`)}
		case 11:
			pkts[i] = transport.Packet{Type: transport.Upgrade}
		default:
			pkts[i] = transport.Packet{Type: transport.Close, Data: []byte(id)}
		}
	}
	return pkts
}

// textOfLen returns valid UTF-8 text of exactly n bytes mixing one- to
// four-byte runes.
func textOfLen(n int) string {
	runes := []string{"a", "é", "€", "😀", "z", "\n"}
	var sb strings.Builder
	for i := 0; sb.Len() < n; i++ {
		r := runes[i%len(runes)]
		if sb.Len()+len(r) > n {
			r = "a"
		}
		sb.WriteString(r)
	}
	return sb.String()
}

// requirePackets fails unless got holds the packets of want, in order, with
// the same type, kind and data.
func requirePackets(t *testing.T, want, got []transport.Packet) {
	t.Helper()
	for i := range min(len(want), len(got)) {
		w, g := want[i], got[i]
		if w.Type != g.Type || w.Binary != g.Binary || !bytes.Equal(w.Data, g.Data) {
			t.Fatalf("packet %d of %d: want %v %s, got %v %s", i, len(want), w, brief(w.Data), g, brief(g.Data))
		}
	}
	if len(want) != len(got) {
		t.Fatalf("want %d packets, got %d", len(want), len(got))
	}
}

// brief quotes data, shortened if long.
func brief(data []byte) string {
	if len(data) > 40 {
		return fmt.Sprintf("%q…", data[:40])
	}
	return fmt.Sprintf("%q", data)
}
