package ferry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
)

// sequence checks, on the client, that numbered events of one stream
// arrive each once and in order.
type sequence struct {
	mu       sync.Mutex
	next     int
	problems []string
}

func (q *sequence) take(e *client.Event) {
	var n int
	err := e.Decode(&n)
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case err != nil:
		q.problems = append(q.problems, err.Error())
	case n != q.next:
		q.problems = append(q.problems, fmt.Sprintf("%s: got %d, want %d", e.Name, n, q.next))
		q.next = n + 1
	default:
		q.next++
	}
}

func (q *sequence) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.next
}

// stressClient is a client that stays connected for the whole test, with
// one sequence per stream it receives.
type stressClient struct {
	main, other          *client.Socket
	direct, room, other2 sequence
}

// TestStress runs many goroutines at once against one server: emitting to
// sockets, rooms and namespaces, asking for acks, fetching sockets, while
// sockets join and leave rooms and other clients connect and disconnect.
// Under -race it checks for data races; on top, it checks that nothing
// guaranteed is lost: the events one goroutine emits to a socket, a room
// it stays in, or its namespace arrive each once, in order.
func TestStress(t *testing.T) {
	m := mode{name: "mixed", codec: parser.Msgpack()}
	ts := m.serve(t, nil)
	other := ts.Of("/other")
	ts.OnConnection(func(s *ferry.Socket) {
		var auth struct {
			Stable bool `json:"stable"`
		}
		s.Handshake().DecodeAuth(&auth)
		if auth.Stable {
			s.Join("stable")
		} else {
			s.Join("churn")
		}
		s.On("echo", func(e *ferry.Event) { e.Ack(e.Args[0]) })
	})
	otherJoined := sockets(other)

	const (
		stable     = 6   // clients connected throughout
		perSocket  = 300 // direct emits to each stable socket
		roomEmits  = 200 // broadcasts to the room of stable sockets
		nspEmits   = 200 // broadcasts to /other
		churners   = 2   // goroutines connecting and dropping clients
		churnEach  = 8   // clients per churner
		ackRounds  = 50  // EmitWithAck rounds to every stable socket
		flickering = 100 // join/leave rounds
	)

	// Stable clients over all three transport set-ups.
	clients := make([]*stressClient, stable)
	var serverSocks []*ferry.Socket
	for i := range clients {
		tm := transportModes[i%len(transportModes)]
		opts := ts.clientOptions()
		opts.Transports = tm.transports
		c := ts.dial(t, opts)
		sc := &stressClient{}
		sc.main = c.Socket("/", &client.SocketOptions{Auth: map[string]bool{"stable": true}})
		sc.main.On("seq", sc.direct.take)
		sc.main.On("room", sc.room.take)
		sc.main.On("ask", func(e *client.Event) { e.Ack(e.Args[0]) })
		sc.other = c.Socket("/other", nil)
		sc.other.On("nsp", sc.other2.take)
		require.NoError(t, sc.main.Connect(bounded(t)))
		require.NoError(t, sc.other.Connect(bounded(t)))
		recv(t, otherJoined)
		clients[i] = sc
		serverSocks = append(serverSocks, ts.socket(t, sc.main))
	}

	var wg sync.WaitGroup
	errs := make(chan error, 1024)
	fail := func(err error) {
		if err != nil {
			errs <- err
		}
	}
	spawn := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}

	// Direct emits, one goroutine per stable socket.
	for _, s := range serverSocks {
		spawn(func() {
			for i := range perSocket {
				fail(s.Emit("seq", i))
			}
		})
	}
	// Room and namespace broadcasts.
	spawn(func() {
		for i := range roomEmits {
			fail(ts.To("stable").Emit("room", i))
		}
	})
	spawn(func() {
		for i := range nspEmits {
			fail(other.Emit("nsp", i))
		}
	})
	// Broadcasts whose targets change under them.
	spawn(func() {
		for i := range roomEmits {
			fail(ts.Emit("all", i))
			fail(ts.To("flicker").Emit("flicker", i))
			fail(ts.Except("flicker").Volatile().Emit("calm", i))
			fail(ts.To("churn").Emit("churn", i))
		}
	})
	// Sockets joining and leaving rooms, directly and through the adapter.
	spawn(func() {
		for i := range flickering {
			s := serverSocks[i%len(serverSocks)]
			s.Join("flicker")
			ts.Of("/").In("stable").SocketsJoin(bounded(t), "bulk")
			s.Leave("flicker")
			ts.Of("/").SocketsLeave(bounded(t), "bulk")
			if _, err := ts.Of("/").In("flicker").FetchSockets(context.Background()); err != nil {
				fail(err)
			}
		}
	})
	// Acks from every stable socket.
	spawn(func() {
		for i := range ackRounds {
			acks, err := ts.To("stable").Timeout(within).EmitWithAck(context.Background(), "ask", i)
			fail(err)
			if len(acks) != stable {
				fail(fmt.Errorf("round %d: %d acks, want %d", i, len(acks), stable))
			}
		}
	})
	// Clients coming and going, disconnected by either side.
	for g := range churners {
		spawn(func() {
			for i := range churnEach {
				tm := transportModes[(g+i)%len(transportModes)]
				opts := ts.clientOptions()
				opts.Transports = tm.transports
				c, err := client.Dial(context.Background(), ts.URL, opts)
				if err != nil {
					fail(err)
					continue
				}
				cs := c.Socket("/", nil)
				cs.On("churn", func(*client.Event) {})
				if err := cs.Connect(bounded(t)); err != nil {
					fail(unlessKicked(err))
					c.Close()
					continue
				}
				reply, err := cs.EmitWithAck(bounded(t), "echo", i)
				fail(unlessKicked(err))
				if err == nil {
					var n int
					fail(reply[0].Decode(&n))
					if n != i {
						fail(fmt.Errorf("echo %d came back as %d", i, n))
					}
				}
				switch i % 3 {
				case 0:
					c.Close()
				case 1:
					if s := ts.Of("/").Socket(cs.ID()); s != nil {
						s.Disconnect(i%2 == 0)
					}
					c.Close()
				case 2:
					ts.Of("/").In("churn").Except("stable").DisconnectSockets(bounded(t), false)
					c.Close()
				}
			}
		})
	}

	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	for i, sc := range clients {
		require.Eventually(t, func() bool {
			return sc.direct.count() == perSocket && sc.room.count() == roomEmits && sc.other2.count() == nspEmits
		}, within, time.Millisecond, "client %d: %d/%d direct, %d/%d room, %d/%d namespace", i,
			sc.direct.count(), perSocket, sc.room.count(), roomEmits, sc.other2.count(), nspEmits)
		for _, q := range []*sequence{&sc.direct, &sc.room, &sc.other2} {
			q.mu.Lock()
			require.Empty(t, q.problems, "client %d", i)
			q.mu.Unlock()
		}
		require.True(t, sc.main.Connected())
		require.True(t, sc.other.Connected())
	}
	// Only the stable sockets are left, in their own rooms and "stable".
	var all []*ferry.RemoteSocket
	require.Eventually(t, func() bool {
		var err error
		all, err = ts.Of("/").FetchSockets(context.Background())
		return err == nil && len(all) == stable
	}, within, time.Millisecond, "the churning clients' sockets are gone")
	for _, rs := range all {
		require.ElementsMatch(t, []string{rs.ID, "stable"}, rs.Rooms)
	}
}

// unlessKicked returns err unless it says the server disconnected the
// socket: churning clients disconnect each other's sockets on purpose.
func unlessKicked(err error) error {
	var de *client.DisconnectError
	if errors.As(err, &de) && de.Reason == client.ReasonServerDisconnect {
		return nil
	}
	if errors.Is(err, client.ErrInactive) {
		// Kicked before the emit: the socket is no longer active.
		return nil
	}
	return err
}
