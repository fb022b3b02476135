package websocket

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// pollerLinger is how long the poll goroutine stays once no connection is
// parked, so that a server whose only connection keeps going quiet and
// waking up does not make a new epoll instance each time.
const pollerLinger = 20 * time.Millisecond

// pollBatch is the most readiness events taken from epoll at once.
const pollBatch = 128

// idlePoller holds the connections whose read goroutine parked them: with
// nothing to read, a reader registers its connection with the poller's
// epoll instance (one-shot) and ends, so that an idle connection holds no
// goroutine and no stack. One poll goroutine, waiting on the epoll
// instance through the runtime's network poller, starts a read goroutine
// for each connection that becomes readable or hangs up. It runs while
// connections are parked (and pollerLinger after the last leaves), and
// closes the epoll instance when it ends.
type idlePoller struct {
	mu sync.Mutex
	// epoll is guarded by mu: the epoll instance while the poll goroutine
	// runs, or nil.
	epoll *os.File
	rc    syscall.RawConn // guarded by mu: epoll's
	gen   uint32          // guarded by mu: counts epoll instances, from 1
	// slots is guarded by mu: the parked readers, by the slot their
	// epoll registration names; seq tells a slot's occupants apart.
	slots  []parkSlot
	free   []int32 // guarded by mu: indexes of empty slots
	parked int     // guarded by mu: occupied slots
	// lingering is guarded by mu: a read deadline is set on epoll, at
	// which the poll goroutine ends if no connection is parked.
	lingering bool
	// broken is guarded by mu: epoll failed; readers no longer park.
	broken bool
}

// parkSlot is one parked reader.
type parkSlot struct {
	t   *Transport
	seq uint32
}

// parkState is a transport's place in the poller, guarded by the
// poller's mu.
type parkState struct {
	slot int32  // the slot index plus one while parked, else 0
	gen  uint32 // the epoll instance the connection was added to, or 0
}

func newIdlePoller() *idlePoller { return &idlePoller{} }

// park registers t's connection and reports true: the read goroutine must
// then end without leaving t, whose reader stays registered with the
// transport's lifecycle until the poller starts another read goroutine or
// the transport ends (unpark). It reports false, registering nothing, when
// the connection cannot be parked; the reader then reads on, waiting in its
// goroutine.
func (p *idlePoller) park(t *Transport) bool {
	p.mu.Lock()
	if p.broken {
		p.mu.Unlock()
		return false
	}
	if p.epoll == nil {
		if err := p.openLocked(); err != nil {
			p.mu.Unlock()
			return false
		}
	}
	var i int32
	if n := len(p.free); n > 0 {
		i, p.free = p.free[n-1], p.free[:n-1]
	} else {
		i = int32(len(p.slots))
		p.slots = append(p.slots, parkSlot{})
	}
	s := &p.slots[i]
	s.t = t
	s.seq++
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: i, Pad: int32(s.seq)}
	t.park.slot = i + 1
	p.parked++
	op := syscall.EPOLL_CTL_MOD
	if t.park.gen != p.gen {
		op = syscall.EPOLL_CTL_ADD
	}
	t.park.gen = p.gen
	rc := p.rc
	p.mu.Unlock()

	// From here on the poller may start a reader for t, or t end.
	err := epollCtl(rc, t.conn.batch.raw, op, &ev)
	if err == nil {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.park.slot != i+1 {
		// Claimed meanwhile by unpark (the transport ended): the reader
		// is gone.
		return true
	}
	p.releaseLocked(i, t)
	if op == syscall.EPOLL_CTL_ADD {
		t.park.gen = 0
	}
	return false
}

// epollCtl registers (op: added, or modified if it already was) the
// connection under conn with the epoll instance under ep. It fails if
// either is closed.
func epollCtl(ep, conn syscall.RawConn, op int, ev *syscall.EpollEvent) error {
	var cerr error
	err := conn.Control(func(fd uintptr) {
		err := ep.Control(func(epfd uintptr) {
			cerr = syscall.EpollCtl(int(epfd), op, int(fd), ev)
			switch {
			case cerr == syscall.EEXIST:
				cerr = syscall.EpollCtl(int(epfd), syscall.EPOLL_CTL_MOD, int(fd), ev)
			case cerr == syscall.ENOENT:
				cerr = syscall.EpollCtl(int(epfd), syscall.EPOLL_CTL_ADD, int(fd), ev)
			}
		})
		if cerr == nil {
			cerr = err
		}
	})
	if err != nil {
		return err
	}
	return cerr
}

// unpark takes t's reader back from the poller, if it is parked there, and
// reports whether it did: the caller then leaves the transport's
// lifecycle in the reader's stead. Call it once the connection is closed.
func (p *idlePoller) unpark(t *Transport) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.park.slot == 0 {
		return false
	}
	p.releaseLocked(t.park.slot-1, t)
	return true
}

// releaseLocked empties slot i, which holds t.
func (p *idlePoller) releaseLocked(i int32, t *Transport) {
	p.slots[i].t = nil
	p.free = append(p.free, i)
	t.park.slot = 0
	p.parked--
	if p.parked == 0 && !p.lingering && p.epoll != nil {
		// The poll goroutine ends pollerLinger from now unless a reader
		// parks meanwhile.
		p.lingering = true
		p.epoll.SetReadDeadline(time.Now().Add(pollerLinger))
	}
}

// openLocked makes the epoll instance and starts the poll goroutine.
func (p *idlePoller) openLocked() error {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return err
	}
	// Non-blocking, the file is waited on through the runtime's network
	// poller, which a read deadline can interrupt.
	f := os.NewFile(uintptr(fd), "epoll")
	rc, err := f.SyscallConn()
	if err == nil {
		// A file the runtime cannot poll refuses deadlines.
		err = f.SetReadDeadline(time.Time{})
	}
	if err != nil {
		f.Close()
		return err
	}
	p.epoll, p.rc = f, rc
	p.gen++
	p.lingering = false
	go p.run(f, rc)
	return nil
}

// run is the poll goroutine: it starts a read goroutine for each parked
// connection that epoll reports, until no connection has been parked for
// pollerLinger.
func (p *idlePoller) run(f *os.File, rc syscall.RawConn) {
	events := make([]syscall.EpollEvent, pollBatch)
	var ready []*Transport
	for {
		var n int
		var werr error
		err := rc.Read(func(fd uintptr) bool {
			for {
				n, werr = syscall.EpollWait(int(fd), events, 0)
				if werr != syscall.EINTR {
					break
				}
			}
			return n > 0 || werr != nil
		})
		p.mu.Lock()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			p.lingering = false
			if p.parked == 0 {
				p.closeLocked(f)
				p.mu.Unlock()
				return
			}
			f.SetReadDeadline(time.Time{})
		case err != nil || werr != nil:
			// epoll failed, which it should not: every parked reader is
			// started again, and readers no longer park.
			p.broken = true
			for i := range p.slots {
				if t := p.slots[i].t; t != nil {
					p.releaseLocked(int32(i), t)
					ready = append(ready, t)
				}
			}
			p.closeLocked(f)
			p.mu.Unlock()
			p.start(ready)
			return
		}
		for _, ev := range events[:n] {
			i := ev.Fd
			if i < 0 || int(i) >= len(p.slots) {
				continue
			}
			// A stale event (the slot emptied since, or taken by another
			// connection) starts no one.
			if s := p.slots[i]; s.t != nil && s.seq == uint32(ev.Pad) {
				p.releaseLocked(i, s.t)
				ready = append(ready, s.t)
			}
		}
		p.mu.Unlock()
		ready = p.start(ready)
	}
}

// start starts a read goroutine for each of ready, and returns ready
// emptied.
func (p *idlePoller) start(ready []*Transport) []*Transport {
	for i, t := range ready {
		go t.readLoop()
		ready[i] = nil
	}
	return ready[:0]
}

// closeLocked closes epoll instance f, which the poll goroutine is done
// with.
func (p *idlePoller) closeLocked(f *os.File) {
	f.Close()
	if p.epoll == f {
		p.epoll, p.rc = nil, nil
	}
	if p.parked == 0 {
		// The next instance starts with no registrations: the slots go.
		p.slots, p.free = nil, nil
	}
}
