package metrics

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/session"
	"github.com/ferryio/ferry/transport"
)

// AdapterStats is what a cluster adapter has counted so far: its counts
// only grow. Its fields are those of redisadapter.Stats, which converts to
// it: metrics.AdapterStats(factory.Stats()).
type AdapterStats struct {
	// Published counts the messages published to other servers.
	Published uint64
	// PublishErrors counts the messages that could not be published.
	PublishErrors uint64
	// Dropped counts, among PublishErrors, the messages dropped because a
	// queue was full.
	Dropped uint64
	// Received counts the messages received from other servers.
	Received uint64
	// Undecodable counts, among Received, the messages that could not be
	// decoded.
	Undecodable uint64
}

// Options configures New.
type Options struct {
	// AdapterStats, if set, is called at each collection for the counts of
	// the servers' cluster adapter, exported as ferry_adapter_*. With a
	// redisadapter.Factory f:
	//
	//	AdapterStats: func() metrics.AdapterStats { return metrics.AdapterStats(f.Stats()) }
	//
	// Default nil: no adapter metrics.
	AdapterStats func() AdapterStats
	// ConstLabels are added to every metric, to tell apart the servers of
	// one process registered with one registry, say. Default none.
	ConstLabels prometheus.Labels
}

// Indexes of the transport and direction dimensions.
const (
	polling = iota
	websocket
	numTransports
)

const (
	in = iota
	out
	numDirections
)

var (
	transportNames = [numTransports]string{polling: transport.NamePolling, websocket: transport.NameWebSocket}
	directionNames = [numDirections]string{in: "in", out: "out"}
)

// transportIndex returns the index of the transport named name.
func transportIndex(name string) int {
	if name == transport.NameWebSocket {
		return websocket
	}
	return polling
}

// reasonSlots is the number of counters kept for each kind of reason or
// cause, indexed by its value; slot 0 counts values out of range, exported
// with the label value "other".
const reasonSlots = 16

// reasonCounts counts events by a reason whose values are small positive
// integers.
type reasonCounts [reasonSlots]atomic.Uint64

func (c *reasonCounts) add(r int) {
	if r <= 0 || r >= reasonSlots {
		r = 0
	}
	c[r].Add(1)
}

// The causes of a failed upgrade, as ferry_upgrades_total labels them.
const (
	upgradeTimeout = iota
	upgradeProbeClosed
	upgradeProtocolError
	upgradeSessionClosed
	upgradeTransportError
	numUpgradeCauses
)

var upgradeCauseNames = [numUpgradeCauses]string{
	upgradeTimeout:        "timeout",
	upgradeProbeClosed:    "probe closed",
	upgradeProtocolError:  "protocol error",
	upgradeSessionClosed:  "session closed",
	upgradeTransportError: "transport error",
}

// upgradeCause classifies the Err of an aborted upgrade.
func upgradeCause(err error) int {
	switch {
	case errors.Is(err, session.ErrUpgradeTimeout):
		return upgradeTimeout
	case errors.Is(err, session.ErrSessionClosed):
		return upgradeSessionClosed
	case err == nil, errors.Is(err, transport.ErrPeerClosed):
		return upgradeProbeClosed
	case errors.Is(err, transport.ErrUnexpectedPacket), errors.Is(err, transport.ErrInvalidPacket):
		return upgradeProtocolError
	default:
		return upgradeTransportError
	}
}

// Collector counts the events of the Ferry servers whose Options.Observer
// is its Observer, and exports them as Prometheus metrics (see the package
// documentation): register it with a prometheus.Registerer. Create it with
// New. It is safe for concurrent use.
type Collector struct {
	observer     *ferry.Observer
	adapterStats func() AdapterStats

	connections    [numTransports]atomic.Int64
	opened         [numTransports]atomic.Uint64
	closed         reasonCounts // by session.CloseReason
	upgraded       atomic.Uint64
	upgradeFailed  [numUpgradeCauses]atomic.Uint64
	refused        reasonCounts // by session.Refusal
	packets        [numDirections][numTransports]atomic.Uint64
	bytes          [numDirections][numTransports]atomic.Uint64
	sockets        atomic.Int64
	disconnects    reasonCounts // by ferry.DisconnectReason
	broadcasts     atomic.Uint64
	ackTimeouts    atomic.Uint64
	queueOverflows atomic.Uint64

	connectionsDesc, openedDesc, closedDesc, upgradesDesc, refusedDesc *prometheus.Desc
	packetsDesc, bytesDesc, socketsDesc, disconnectsDesc               *prometheus.Desc
	broadcastsDesc, ackTimeoutsDesc, queueOverflowsDesc                *prometheus.Desc
	adapterDescs                                                       [numAdapterCounts]*prometheus.Desc
}

// The adapter counters, in AdapterStats order.
const (
	adapterPublished = iota
	adapterPublishErrors
	adapterDropped
	adapterReceived
	adapterUndecodable
	numAdapterCounts
)

// New returns a Collector configured by opts, which may be nil.
func New(opts *Options) *Collector {
	var o Options
	if opts != nil {
		o = *opts
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ferry_"+name, help, labels, o.ConstLabels)
	}
	c := &Collector{
		adapterStats:       o.AdapterStats,
		connectionsDesc:    desc("connections", "Engine.IO connections open, by the transport they use now.", "transport"),
		openedDesc:         desc("connections_opened_total", "Engine.IO connections opened, by the transport of their handshake.", "transport"),
		closedDesc:         desc("connections_closed_total", "Engine.IO connections closed, by reason.", "reason"),
		upgradesDesc:       desc("upgrades_total", "Upgrades from long-polling to WebSocket, by result, and cause of failure.", "result", "cause"),
		refusedDesc:        desc("requests_refused_total", "Requests refused with an Engine.IO error, by cause.", "cause"),
		packetsDesc:        desc("packets_total", "Engine.IO packets read (in) and written (out), by transport.", "direction", "transport"),
		bytesDesc:          desc("bytes_total", "Bytes of the Engine.IO packets read (in) and written (out), by transport, without framing or compression.", "direction", "transport"),
		socketsDesc:        desc("sockets", "Sockets connected, in every namespace."),
		disconnectsDesc:    desc("disconnects_total", "Sockets disconnected, by reason.", "reason"),
		broadcastsDesc:     desc("broadcasts_total", "Broadcasts made on this server."),
		ackTimeoutsDesc:    desc("ack_timeouts_total", "Emits with an ack, to a socket or a broadcast, whose deadline passed before the acks came."),
		queueOverflowsDesc: desc("queue_overflows_total", "Connections closed because their outbound queue overflowed."),
	}
	if o.AdapterStats != nil {
		c.adapterDescs = [numAdapterCounts]*prometheus.Desc{
			adapterPublished:     desc("adapter_published_total", "Messages the cluster adapter published to other servers."),
			adapterPublishErrors: desc("adapter_publish_errors_total", "Messages the cluster adapter could not publish."),
			adapterDropped:       desc("adapter_dropped_total", "Messages the cluster adapter dropped because its queue was full."),
			adapterReceived:      desc("adapter_received_total", "Messages the cluster adapter received from other servers."),
			adapterUndecodable:   desc("adapter_undecodable_total", "Messages from other servers the cluster adapter could not decode."),
		}
	}
	c.observer = &ferry.Observer{
		Engine: ferry.EngineObserver{
			Opened:     c.onOpened,
			Closed:     c.onClosed,
			Upgrade:    c.onUpgrade,
			Refused:    c.onRefused,
			PacketsIn:  c.onPacketsIn,
			PacketsOut: c.onPacketsOut,
		},
		Connected:    c.onConnected,
		Disconnected: c.onDisconnected,
		Broadcast:    c.onBroadcast,
		AckTimeout:   c.onAckTimeout,
	}
	return c
}

// Observer returns the ferry.Observer that feeds the collector: set it as
// the Options.Observer of each server to observe. The same value is
// returned each time; do not modify it.
func (c *Collector) Observer() *ferry.Observer { return c.observer }

func (c *Collector) onOpened(tr string) {
	i := transportIndex(tr)
	c.opened[i].Add(1)
	c.connections[i].Add(1)
}

func (c *Collector) onClosed(tr string, reason session.CloseReason) {
	c.connections[transportIndex(tr)].Add(-1)
	c.closed.add(int(reason))
	if reason == session.ReasonQueueFull {
		c.queueOverflows.Add(1)
	}
}

func (c *Collector) onUpgrade(e session.UpgradeEvent) {
	switch e.Phase {
	case session.UpgradeDone:
		c.upgraded.Add(1)
		c.connections[polling].Add(-1)
		c.connections[transportIndex(e.Transport)].Add(1)
	case session.UpgradeAborted:
		c.upgradeFailed[upgradeCause(e.Err)].Add(1)
	}
}

func (c *Collector) onRefused(cause session.Refusal) { c.refused.add(int(cause)) }

func (c *Collector) onPacketsIn(tr string, packets, bytes int) {
	i := transportIndex(tr)
	c.packets[in][i].Add(uint64(packets))
	c.bytes[in][i].Add(uint64(bytes))
}

func (c *Collector) onPacketsOut(tr string, packets, bytes int) {
	i := transportIndex(tr)
	c.packets[out][i].Add(uint64(packets))
	c.bytes[out][i].Add(uint64(bytes))
}

func (c *Collector) onConnected(string) { c.sockets.Add(1) }

func (c *Collector) onDisconnected(_ string, reason ferry.DisconnectReason) {
	c.sockets.Add(-1)
	c.disconnects.add(int(reason))
}

func (c *Collector) onBroadcast(string) { c.broadcasts.Add(1) }

func (c *Collector) onAckTimeout(string) { c.ackTimeouts.Add(1) }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.connectionsDesc, c.openedDesc, c.closedDesc, c.upgradesDesc, c.refusedDesc,
		c.packetsDesc, c.bytesDesc, c.socketsDesc, c.disconnectsDesc,
		c.broadcastsDesc, c.ackTimeoutsDesc, c.queueOverflowsDesc,
	} {
		ch <- d
	}
	if c.adapterStats != nil {
		for _, d := range c.adapterDescs {
			ch <- d
		}
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for i, name := range transportNames {
		ch <- prometheus.MustNewConstMetric(c.connectionsDesc, prometheus.GaugeValue, float64(c.connections[i].Load()), name)
		counter(c.openedDesc, c.opened[i].Load(), name)
		for d, dir := range directionNames {
			counter(c.packetsDesc, c.packets[d][i].Load(), dir, name)
			counter(c.bytesDesc, c.bytes[d][i].Load(), dir, name)
		}
	}
	collectReasons(ch, c.closedDesc, &c.closed, int(session.ReasonQueueFull), func(r int) string { return session.CloseReason(r).String() })
	collectReasons(ch, c.refusedDesc, &c.refused, int(session.RefusedServerClosed), func(r int) string { return session.Refusal(r).String() })
	collectReasons(ch, c.disconnectsDesc, &c.disconnects, int(ferry.ReasonServerError), func(r int) string { return ferry.DisconnectReason(r).String() })
	counter(c.upgradesDesc, c.upgraded.Load(), "succeeded", "")
	for i, cause := range upgradeCauseNames {
		counter(c.upgradesDesc, c.upgradeFailed[i].Load(), "failed", cause)
	}
	ch <- prometheus.MustNewConstMetric(c.socketsDesc, prometheus.GaugeValue, float64(c.sockets.Load()))
	counter(c.broadcastsDesc, c.broadcasts.Load())
	counter(c.ackTimeoutsDesc, c.ackTimeouts.Load())
	counter(c.queueOverflowsDesc, c.queueOverflows.Load())
	if c.adapterStats != nil {
		s := c.adapterStats()
		for i, v := range [numAdapterCounts]uint64{
			adapterPublished:     s.Published,
			adapterPublishErrors: s.PublishErrors,
			adapterDropped:       s.Dropped,
			adapterReceived:      s.Received,
			adapterUndecodable:   s.Undecodable,
		} {
			counter(c.adapterDescs[i], v)
		}
	}
}

// collectReasons sends the counts of c labelled with name(r): every value
// from 1 to last, known when this package was built, even at zero, and
// any other value counted (a reason added to Ferry since: by its name, or
// "other" past the slots).
func collectReasons(ch chan<- prometheus.Metric, d *prometheus.Desc, c *reasonCounts, last int, name func(int) string) {
	for r := range c {
		v := c[r].Load()
		if v == 0 && (r == 0 || r > last) {
			continue
		}
		label := "other"
		if r > 0 {
			label = name(r)
		}
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), label)
	}
}
