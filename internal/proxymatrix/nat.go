package proxymatrix

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// NAT is a TCP relay that stands for a NAT or stateful firewall on the
// path: each connection through it is a flow it carries both ways, and
// Forget drops the current flows as such a box does when it expires an
// entry: it forgets the flow and discards its later packets without
// telling either end. Neither end sees a close or a reset; each finds out
// only by its own heartbeat. Connections opened afterwards are new flows,
// carried as before.
//
// No program on the machine does this on loopback: HAProxy closes the
// connections it times out, and toxiproxy's timeout toxic stalls new
// connections as well and closes the stalled ones once removed.
type NAT struct {
	upstream string
	l        net.Listener
	wg       sync.WaitGroup
	dropped  atomic.Int64 // bytes from the server discarded in forgotten flows

	mu     sync.Mutex
	flows  []*natFlow // guarded by mu: every flow, carried or forgotten, closed when the test ends
	closed bool       // guarded by mu
}

// natFlow is one connection through the relay.
type natFlow struct {
	client, server net.Conn
	forgotten      atomic.Bool
	closed         atomic.Bool // an end closed it while it was carried
}

// StartNAT starts the relay on a free port of 127.0.0.1 in front of
// upstream ("127.0.0.1:port"), and returns it and its base URL. It is
// stopped, and every connection through it closed, when t ends.
func StartNAT(t testing.TB, upstream string) (*NAT, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxymatrix: %v", err)
	}
	n := &NAT{upstream: upstream, l: l}
	n.wg.Go(n.accept)
	t.Cleanup(n.stop)
	return n, "http://" + l.Addr().String()
}

// Forget drops every open flow, and returns how many there were.
func (n *NAT) Forget() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	count := 0
	for _, f := range n.flows {
		if !f.closed.Load() && !f.forgotten.Swap(true) {
			count++
		}
	}
	return count
}

// Dropped returns how many bytes the server sent into forgotten flows:
// what it believed it was sending to the client.
func (n *NAT) Dropped() int64 { return n.dropped.Load() }

func (n *NAT) accept() {
	for {
		c, err := n.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", n.upstream)
		if err != nil {
			c.Close()
			continue
		}
		f := &natFlow{client: c, server: s}
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			c.Close()
			s.Close()
			return
		}
		n.flows = append(n.flows, f)
		n.mu.Unlock()
		n.wg.Go(func() { n.carry(f, c, s, nil) })
		n.wg.Go(func() { n.carry(f, s, c, &n.dropped) })
	}
}

// carry copies from src to dst while the flow is carried, and discards
// what src sends once it is forgotten, counting it into dropped if not
// nil. An end that closes a carried flow closes it; one that closes a
// forgotten flow is not heard of at the other end, as with a NAT that has
// no entry for the flow any more.
func (n *NAT) carry(f *natFlow, src, dst net.Conn, dropped *atomic.Int64) {
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			if f.forgotten.Load() {
				if dropped != nil {
					dropped.Add(int64(k))
				}
			} else if _, werr := dst.Write(buf[:k]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			if !f.forgotten.Load() || errors.Is(err, net.ErrClosed) {
				f.closed.Store(true)
				src.Close()
				dst.Close()
			}
			return
		}
	}
}

// stop closes the listener and every flow, and waits for the relay's
// goroutines.
func (n *NAT) stop() {
	n.l.Close()
	n.mu.Lock()
	n.closed = true
	for _, f := range n.flows {
		f.client.Close()
		f.server.Close()
	}
	n.mu.Unlock()
	n.wg.Wait()
}
