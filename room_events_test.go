package ferry_test

import (
	"fmt"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
)

// roomLog records room events, and other marks, in the order they happen.
type roomLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *roomLog) add(what string) {
	l.mu.Lock()
	l.seen = append(l.seen, what)
	l.mu.Unlock()
}

// take returns what was recorded and forgets it.
func (l *roomLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.seen
	l.seen = nil
	return out
}

// watch records nsp's room events as "join <room>" and "leave <room>", with
// the socket id replaced by "own" for a socket's own room.
func (l *roomLog) watch(nsp *ferry.Namespace) (off func()) {
	name := func(s *ferry.Socket, room string) string {
		if room == s.ID() {
			return "own"
		}
		return room
	}
	offJoin := nsp.OnJoinRoom(func(s *ferry.Socket, room string) { l.add("join " + name(s, room)) })
	offLeave := nsp.OnLeaveRoom(func(s *ferry.Socket, room string) { l.add("leave " + name(s, room)) })
	return func() { offJoin(); offLeave() }
}

func TestRoomEvents(t *testing.T) {
	run(t, func(t *testing.T, m mode) {
		ts := m.serve(t, nil)
		nsp := ts.Of("/")
		var log roomLog
		off := log.watch(nsp)
		ts.Use(func(s *ferry.Socket) error {
			s.Join("early")
			return nil
		})
		gone := make(chan struct{})
		ts.OnConnection(func(s *ferry.Socket) {
			log.add("connected")
			s.OnDisconnect(func(*ferry.Socket, ferry.DisconnectReason) {
				log.add("disconnected")
				close(gone)
			})
		})
		joined := sockets(nsp)
		cs := ts.connect(t, "/", nil)
		s := recv(t, joined)
		seen := log.take()
		require.Len(t, seen, 3)
		require.ElementsMatch(t, []string{"join early", "join own"}, seen[:2])
		require.Equal(t, "connected", seen[2], "the rooms a socket connects with are reported before the connection handlers run")

		s.Join("a", "b", "a")
		s.Join("a")
		require.Equal(t, []string{"join a", "join b"}, log.take(), "a room already joined is not reported again")
		require.NoError(t, ts.In("a").SocketsJoin(bounded(t), "c"))
		s.Leave("b")
		s.Leave("never joined")
		require.NoError(t, ts.In("c").SocketsLeave(bounded(t), "early"))
		require.Equal(t, []string{"join c", "leave b", "leave early"}, log.take())

		cs.Disconnect()
		recv(t, gone)
		seen = log.take()
		require.Len(t, seen, 4)
		require.ElementsMatch(t, []string{"leave a", "leave c", "leave own"}, seen[:3])
		require.Equal(t, "disconnected", seen[3], "a socket leaves every room before its disconnect handlers run")

		off()
		cs2 := ts.connect(t, "/", nil)
		s2 := recv(t, joined)
		s2.Join("d")
		s2.Leave("d")
		require.Equal(t, []string{"connected"}, log.take(), "removed handlers are not run")
		require.Equal(t, cs2.ID(), s2.ID())
	})
}

func TestRoomEventsReportEachChangeOnce(t *testing.T) {
	ts := mode{name: "websocket", codec: parser.Msgpack()}.serve(t, nil)
	var log roomLog
	log.watch(ts.Of("/"))
	joined := sockets(ts.Of("/"))
	ts.connect(t, "/", nil)
	s := recv(t, joined)
	log.take()

	// Goroutines make the socket join the same rooms at once, then leave
	// them: each room is reported joined once and left once.
	const goroutines, rooms = 4, 200
	race := func(change func(room string)) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range goroutines {
			wg.Go(func() {
				<-start
				for i := range rooms {
					change(fmt.Sprint("r", i))
				}
			})
		}
		close(start)
		wg.Wait()
	}
	race(func(room string) { s.Join(room) })
	race(s.Leave)
	counts := make(map[string]int)
	for _, what := range log.take() {
		counts[what]++
	}
	for i := range rooms {
		require.Equal(t, 1, counts[fmt.Sprint("join r", i)], "room r%d", i)
		require.Equal(t, 1, counts[fmt.Sprint("leave r", i)], "room r%d", i)
	}
	require.Len(t, counts, 2*rooms)
	require.Equal(t, []string{s.ID()}, s.Rooms())
}

func TestRoomEventsOnDynamicParent(t *testing.T) {
	ts := mode{name: "websocket", codec: parser.Msgpack()}.serve(t, nil)
	parent := ts.OfRegexp(regexp.MustCompile(`^/team-\d+$`))
	var log roomLog
	log.watch(parent)
	parent.OnConnection(func(s *ferry.Socket) { s.Join(s.Namespace().Name()) })
	joined := sockets(parent)
	ts.connect(t, "/team-1", nil)
	recv(t, joined)
	ts.connect(t, "/team-2", nil)
	recv(t, joined)
	require.ElementsMatch(t, []string{"join own", "join /team-1", "join own", "join /team-2"}, log.take())
}

func TestRoomEventsOnRecovery(t *testing.T) {
	m := mode{name: "websocket", codec: parser.Msgpack()}
	ts, joined := recoveryServer(t, m, nil)
	var log roomLog
	log.watch(ts.Of("/"))
	r := ts.dialRaw(t, m.name)
	_, reply := connectCollecting(t, r, nil)
	s := recv(t, joined)
	require.ElementsMatch(t, []string{"join own", "join room"}, log.take())
	dropped := make(reasons, 1)
	dropped.watch(s)
	require.NoError(t, s.Conn().Close())
	require.Equal(t, "forced close", recv(t, dropped))
	require.ElementsMatch(t, []string{"leave own", "leave room"}, log.take())

	r2 := ts.dialRaw(t, m.name)
	connectCollecting(t, r2, map[string]any{"pid": reply.PID})
	require.True(t, recv(t, joined).Recovered())
	require.ElementsMatch(t, []string{"join own", "join room"}, log.take(), "the rooms restored are reported")
}

func TestOnNamespace(t *testing.T) {
	ts := mode{name: "websocket", codec: parser.Msgpack()}.serve(t, nil)
	ts.Of("/b")
	parent := ts.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	var mu sync.Mutex
	var seen []string
	note := func(nsp *ferry.Namespace) {
		mu.Lock()
		seen = append(seen, nsp.Name())
		mu.Unlock()
	}
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}
	off := ts.OnNamespace(func(nsp *ferry.Namespace) {
		note(nsp)
		// A namespace is reported before any socket joins it.
		assert.Nil(t, nsp.Socket("any"))
		count, err := nsp.Local().SocketCount(bounded(t))
		assert.NoError(t, err)
		assert.Zero(t, count, "namespace %s", nsp.Name())
	})
	require.Equal(t, []string{"/", "/b"}, take(), "the namespaces that exist are reported at once, sorted")
	ts.Of("/a")
	require.Equal(t, []string{"/a"}, take(), "a namespace made by Of is reported before Of returns")
	ts.Of("/a")
	require.Empty(t, take(), "each namespace is reported once")

	joined := sockets(parent)
	ts.connect(t, "/dyn-1", nil)
	recv(t, joined)
	require.Equal(t, []string{"/dyn-1"}, take(), "a dynamic child is reported as a client makes it")

	var names []string
	for _, nsp := range ts.Namespaces() {
		names = append(names, nsp.Name())
	}
	require.Equal(t, []string{"/", "/a", "/b", "/dyn-1"}, names, "Namespaces lists every namespace but dynamic parents")

	off()
	ts.Of("/c")
	require.Empty(t, take(), "a removed handler is not run")
}
