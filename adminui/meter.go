package adminui

import (
	"sync/atomic"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/session"
)

// The types of aggregated events a Meter counts, as the npm package names
// them.
const (
	eventPacketsIn  = "packetsIn"
	eventPacketsOut = "packetsOut"
	eventBytesIn    = "bytesIn"
	eventBytesOut   = "bytesOut"
)

// Meter counts, at the Engine.IO layer, what the Admin UI's dashboard
// charts: connections opened and closed (the latter by reason), packets
// and bytes received and sent, and the connections on long-polling. A
// server instrumented without one counts a connection when its first
// socket connects, and no packets or bytes.
//
// A Meter hears of the server's events through its Observer, which must be
// the server's Options.Observer from its creation (ferry.MultiObserver
// combines it with others, such as a Prometheus collector's), and is given
// to Instrument as Options.Meter. Use one Meter per server and
// Instrumentation.
//
// Packets are counted as the engine reports them: pings and pongs
// included, where the npm package counts only the packets that carry data.
type Meter struct {
	events   eventBuffer  // connections and disconnections
	polling  atomic.Int64 // connections on long-polling
	observer *ferry.Observer

	// Packets and bytes, counted on hot paths without a lock, and added
	// to events in the second they are taken.
	packetsIn, packetsOut, bytesIn, bytesOut atomic.Int64
}

// NewMeter returns a Meter that has counted nothing yet.
func NewMeter() *Meter {
	m := &Meter{}
	m.observer = &ferry.Observer{
		Engine: ferry.EngineObserver{
			Opened: func(transport string) {
				m.events.add(eventConnection, "", 1)
				if transport == "polling" {
					m.polling.Add(1)
				}
			},
			Closed: func(transport string, reason session.CloseReason) {
				m.events.add(eventDisconnection, reason.String(), 1)
				if transport == "polling" {
					m.polling.Add(-1)
				}
			},
			Upgrade: func(e session.UpgradeEvent) {
				if e.Phase == session.UpgradeDone {
					m.polling.Add(-1)
				}
			},
			PacketsIn: func(_ string, packets, bytes int) {
				m.packetsIn.Add(int64(packets))
				m.bytesIn.Add(int64(bytes))
			},
			PacketsOut: func(_ string, packets, bytes int) {
				m.packetsOut.Add(int64(packets))
				m.bytesOut.Add(int64(bytes))
			},
		},
	}
	return m
}

// Observer returns the ferry.Observer that feeds m: set it as the server's
// Options.Observer. The same value is returned each time.
func (m *Meter) Observer() *ferry.Observer { return m.observer }

// take returns the events counted since the last call.
func (m *Meter) take() []aggregatedEvent {
	for _, c := range []struct {
		typ   string
		count *atomic.Int64
	}{
		{eventPacketsIn, &m.packetsIn}, {eventBytesIn, &m.bytesIn},
		{eventPacketsOut, &m.packetsOut}, {eventBytesOut, &m.bytesOut},
	} {
		if n := c.count.Swap(0); n > 0 {
			m.events.add(c.typ, "", int(n))
		}
	}
	return m.events.take()
}

// pollingCount returns the number of connections on long-polling.
func (m *Meter) pollingCount() int { return int(m.polling.Load()) }
