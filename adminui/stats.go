package adminui

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/ferryio/ferry"
)

// serverStats is the server_stats event, which the UI's dashboard and
// server list read.
type serverStats struct {
	ServerID            string            `json:"serverId"`
	Hostname            string            `json:"hostname"`
	PID                 int               `json:"pid"`
	Uptime              float64           `json:"uptime"` // seconds
	ClientsCount        int               `json:"clientsCount"`
	PollingClientsCount int               `json:"pollingClientsCount"`
	AggregatedEvents    []aggregatedEvent `json:"aggregatedEvents"`
	Namespaces          []namespaceStats  `json:"namespaces"`
}

// namespaceStats counts a namespace's sockets on this server.
type namespaceStats struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// aggregatedEvent counts the events of one type (and subtype) in one
// second, for the UI's histograms.
type aggregatedEvent struct {
	Timestamp int64  `json:"timestamp"` // the second's start, in milliseconds since the epoch
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     int    `json:"count"`
}

// The types of aggregated events the UI reads.
const (
	eventConnection    = "rawConnection"
	eventDisconnection = "rawDisconnection" // its subtype is the reason
)

// eventBuffer aggregates events between two server_stats.
type eventBuffer struct {
	mu     sync.Mutex
	events []aggregatedEvent // guarded by mu: in the order first seen
	index  map[eventKey]int  // guarded by mu: position in events
}

type eventKey struct {
	second       int64
	typ, subType string
}

// add counts n events of a type and subtype, in the current second.
func (b *eventBuffer) add(typ, subType string, n int) {
	second := time.Now().Truncate(time.Second).UnixMilli()
	key := eventKey{second, typ, subType}
	b.mu.Lock()
	defer b.mu.Unlock()
	if i, ok := b.index[key]; ok {
		b.events[i].Count += n
		return
	}
	if b.index == nil {
		b.index = make(map[eventKey]int)
	}
	b.index[key] = len(b.events)
	b.events = append(b.events, aggregatedEvent{Timestamp: second, Type: typ, SubType: subType, Count: n})
}

// take returns the events counted since the last call.
func (b *eventBuffer) take() []aggregatedEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.events
	if out == nil {
		out = []aggregatedEvent{}
	}
	b.events = nil
	clear(b.index)
	return out
}

// connTracker follows the connections whose sockets the UI may see: it
// counts their arrivals and departures, and those on long-polling.
type connTracker struct {
	events *eventBuffer

	mu      sync.Mutex
	conns   map[*ferry.Conn]bool // guarded by mu: open connections seen, true while on long-polling
	polling int                  // guarded by mu: connections on long-polling
}

func (t *connTracker) init(events *eventBuffer) {
	t.events = events
	t.conns = make(map[*ferry.Conn]bool)
}

// seen notes the connection of a socket that connected, the first time
// one of its sockets does.
func (t *connTracker) seen(c *ferry.Conn) {
	t.mu.Lock()
	_, known := t.conns[c]
	if !known {
		t.conns[c] = false
	}
	t.mu.Unlock()
	if known {
		return
	}
	t.events.add(eventConnection, "", 1)
	// The upgrade callback is added before the transport is read: an
	// upgrade after the read is then heard of, one before it is seen.
	c.OnUpgrade(func(string) {
		t.mu.Lock()
		if t.conns[c] {
			t.conns[c] = false
			t.polling--
		}
		t.mu.Unlock()
	})
	t.mu.Lock()
	if _, open := t.conns[c]; open && c.Transport() == "polling" {
		t.conns[c] = true
		t.polling++
	}
	t.mu.Unlock()
	c.OnClose(func(reason ferry.DisconnectReason) {
		t.mu.Lock()
		if t.conns[c] {
			t.polling--
		}
		delete(t.conns, c)
		t.mu.Unlock()
		t.events.add(eventDisconnection, reason.String(), 1)
	})
}

// pollingCount returns the number of connections on long-polling.
func (t *connTracker) pollingCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.polling
}

// statsLoop sends the stats every ServerStatsInterval until Close.
func (i *Instrumentation) statsLoop() {
	defer close(i.done)
	tick := time.NewTicker(i.opts.ServerStatsInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			i.emitStats()
			i.forgetRemoved()
		case <-i.stop:
			return
		}
	}
}

// emitStats sends the server's stats to every Admin UI.
func (i *Instrumentation) emitStats() {
	ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
	defer cancel()
	hostname, _ := os.Hostname()
	stats := serverStats{
		ServerID:            i.opts.ServerID,
		Hostname:            hostname,
		PID:                 os.Getpid(),
		Uptime:              time.Since(i.started).Seconds(),
		ClientsCount:        i.srv.ConnCount(),
		PollingClientsCount: i.conns.pollingCount(),
		AggregatedEvents:    i.events.take(),
		Namespaces:          []namespaceStats{},
	}
	for _, nsp := range i.srv.Namespaces() {
		n, err := nsp.Local().SocketCount(ctx)
		if err != nil {
			i.logger.Warn("adminui: counting sockets failed", "namespace", nsp.Name(), "err", err)
		}
		stats.Namespaces = append(stats.Namespaces, namespaceStats{Name: nsp.Name(), SocketsCount: n})
	}
	if m := i.opts.Meter; m != nil {
		stats.PollingClientsCount = m.pollingCount()
		stats.AggregatedEvents = append(stats.AggregatedEvents, m.take()...)
	}
	i.emit("server_stats", stats)
}
