package client

import (
	"sync"
	"sync/atomic"
)

// dispatcher runs the application's callbacks (event handlers, connect,
// disconnect and reconnect notifications) one at a time, in the order the
// client queued them, on a goroutine of its own. The network goroutines only
// queue callbacks, so a slow handler delays later handlers but never the
// heartbeat or acknowledgements.
//
// The queue is unbounded: it grows while a handler blocks and the server
// keeps sending.
type dispatcher struct {
	wake chan struct{} // signal (capacity 1): a callback was queued, or stop was called
	done chan struct{} // closed when run returns

	running atomic.Bool // a callback is executing

	mu      sync.Mutex
	queue   []func() // guarded by mu
	stopped bool     // guarded by mu: run the queue out, then return
}

func newDispatcher() *dispatcher {
	return &dispatcher{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// push queues f. After stop, f is dropped.
func (d *dispatcher) push(f func()) {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	d.queue = append(d.queue, f)
	d.mu.Unlock()
	signal(d.wake)
}

// stop makes run return once the callbacks queued so far have run. It
// reports whether the caller may wait for done: not while a callback runs,
// since the caller may be that callback.
func (d *dispatcher) stop() (mayWait bool) {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	signal(d.wake)
	return !d.running.Load()
}

func (d *dispatcher) run() {
	defer close(d.done)
	for {
		d.mu.Lock()
		if len(d.queue) == 0 {
			stopped := d.stopped
			d.queue = nil
			d.mu.Unlock()
			if stopped {
				return
			}
			<-d.wake
			continue
		}
		f := d.queue[0]
		d.queue[0] = nil
		d.queue = d.queue[1:]
		d.mu.Unlock()
		d.running.Store(true)
		f()
		d.running.Store(false)
	}
}
