package session_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/ferryio/ferry/session"
	"github.com/ferryio/ferry/transport"
)

// chanNet connects the chanBuses of one process.
type chanNet struct {
	mu    sync.Mutex
	boxes map[string]chan []byte // guarded by mu: each open bus's inbox
}

// chanBus is a Bus between engines of one process: each node's messages
// are delivered in order by a goroutine of its own. (Package redisadapter
// has one over Redis, for engines in several processes.)
type chanBus struct {
	net   *chanNet
	node  string
	inbox chan []byte
	done  chan struct{}
}

func (n *chanNet) bus(node string) *chanBus {
	b := &chanBus{net: n, node: node, inbox: make(chan []byte, 1024), done: make(chan struct{})}
	n.mu.Lock()
	n.boxes[node] = b.inbox
	n.mu.Unlock()
	return b
}

func (b *chanBus) Node() string { return b.node }

func (b *chanBus) Open(receive func([]byte)) {
	go func() {
		defer close(b.done)
		for msg := range b.inbox {
			receive(msg)
		}
	}()
}

func (b *chanBus) Send(node string, msg []byte) error {
	b.net.mu.Lock()
	defer b.net.mu.Unlock()
	if to, ok := b.net.boxes[node]; ok {
		to <- msg
	}
	return nil
}

func (b *chanBus) Close() error {
	b.net.mu.Lock()
	delete(b.net.boxes, b.node)
	close(b.inbox)
	b.net.mu.Unlock()
	<-b.done
	return nil
}

// Two engines that serve each other's sessions: a session opened on the
// first is reached through the second, as behind a load balancer with no
// sticky sessions.
func ExampleRelayOptions() {
	net := &chanNet{boxes: make(map[string]chan []byte)}
	newEngine := func(node string) (*session.Engine, *httptest.Server) {
		engine := session.NewEngine(&session.Options{
			Relay: &session.RelayOptions{Bus: net.bus(node)},
			OnConnection: func(s *session.Session) {
				s.OnMessage(func(p transport.Packet) {
					s.Send(transport.TextPacket("echo: " + string(p.Data)))
				})
			},
		})
		return engine, httptest.NewServer(engine)
	}
	a, sa := newEngine("AAAA")
	b, sb := newEngine("BBBB")
	defer sa.Close()
	defer sb.Close()
	defer a.Close()
	defer b.Close()

	// The handshake reaches a: the session is a's, its id says so.
	open := get("GET", sa.URL+"/socket.io/?EIO=4&transport=polling", "")
	sid := open[strings.Index(open, `"sid":"`)+7:][:20]
	fmt.Println("owner:", sid[:4])

	// Every later request reaches b, which relays it to a.
	session := sb.URL + "/socket.io/?EIO=4&transport=polling&sid=" + sid
	fmt.Println(get("POST", session, "4hello"))
	fmt.Println(get("GET", session, ""))
	// Output:
	// owner: AAAA
	// ok
	// 4echo: hello
}
