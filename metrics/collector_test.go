package metrics_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/metrics"
	"github.com/ferryio/ferry/session"
	"github.com/ferryio/ferry/transport"
)

// TestCollectorCounts feeds the Observer events by hand and checks every
// metric the collector exports.
func TestCollectorCounts(t *testing.T) {
	t.Parallel()
	stats := metrics.AdapterStats{Published: 7, PublishErrors: 3, Dropped: 2, Received: 11, Undecodable: 1}
	col := metrics.New(&metrics.Options{
		AdapterStats: func() metrics.AdapterStats { return stats },
		ConstLabels:  prometheus.Labels{"server": "a"},
	})
	o := col.Observer()
	e := o.Engine

	e.Opened("polling")
	e.Opened("polling")
	e.Opened("websocket")
	e.Upgrade(session.UpgradeEvent{Phase: session.UpgradeStarted, Transport: "websocket"})
	e.Upgrade(session.UpgradeEvent{Phase: session.UpgradeDone, Transport: "websocket"})
	for _, err := range []error{
		session.ErrUpgradeTimeout,
		fmt.Errorf("wrapped: %w", transport.ErrPeerClosed),
		nil,
		transport.ErrUnexpectedPacket,
		&transport.DecodeError{Reason: "bad"},
		&session.CloseError{Reason: session.ReasonPingTimeout},
		errors.New("connection reset"),
	} {
		e.Upgrade(session.UpgradeEvent{Phase: session.UpgradeAborted, Transport: "websocket", Err: err})
	}
	e.Refused(session.RefusedOrigin)
	e.Refused(session.RefusedOrigin)
	e.Refused(session.RefusedUnknownSID)
	e.Refused(session.Refusal(99))
	e.PacketsIn("polling", 2, 30)
	e.PacketsIn("websocket", 1, 5)
	e.PacketsOut("websocket", 3, 100)
	e.PacketsOut("polling", 1, 1)
	e.Closed("websocket", session.ReasonQueueFull)
	e.Closed("polling", session.ReasonTransportClose)
	o.Connected("/")
	o.Connected("/chat")
	o.Connected("/")
	o.Disconnected("/chat", ferry.ReasonPingTimeout)
	o.Disconnected("/", ferry.DisconnectReason(42))
	o.Broadcast("/")
	o.Broadcast("/chat")
	o.AckTimeout("/")

	want := `
# HELP ferry_ack_timeouts_total Emits with an ack, to a socket or a broadcast, whose deadline passed before the acks came.
# TYPE ferry_ack_timeouts_total counter
ferry_ack_timeouts_total{server="a"} 1
# HELP ferry_adapter_dropped_total Messages the cluster adapter dropped because its queue was full.
# TYPE ferry_adapter_dropped_total counter
ferry_adapter_dropped_total{server="a"} 2
# HELP ferry_adapter_publish_errors_total Messages the cluster adapter could not publish.
# TYPE ferry_adapter_publish_errors_total counter
ferry_adapter_publish_errors_total{server="a"} 3
# HELP ferry_adapter_published_total Messages the cluster adapter published to other servers.
# TYPE ferry_adapter_published_total counter
ferry_adapter_published_total{server="a"} 7
# HELP ferry_adapter_received_total Messages the cluster adapter received from other servers.
# TYPE ferry_adapter_received_total counter
ferry_adapter_received_total{server="a"} 11
# HELP ferry_adapter_undecodable_total Messages from other servers the cluster adapter could not decode.
# TYPE ferry_adapter_undecodable_total counter
ferry_adapter_undecodable_total{server="a"} 1
# HELP ferry_broadcasts_total Broadcasts made on this server.
# TYPE ferry_broadcasts_total counter
ferry_broadcasts_total{server="a"} 2
# HELP ferry_bytes_total Bytes of the Engine.IO packets read (in) and written (out), by transport, without framing or compression.
# TYPE ferry_bytes_total counter
ferry_bytes_total{direction="in",server="a",transport="polling"} 30
ferry_bytes_total{direction="in",server="a",transport="websocket"} 5
ferry_bytes_total{direction="out",server="a",transport="polling"} 1
ferry_bytes_total{direction="out",server="a",transport="websocket"} 100
# HELP ferry_connections Engine.IO connections open, by the transport they use now.
# TYPE ferry_connections gauge
ferry_connections{server="a",transport="polling"} 0
ferry_connections{server="a",transport="websocket"} 1
# HELP ferry_connections_closed_total Engine.IO connections closed, by reason.
# TYPE ferry_connections_closed_total counter
ferry_connections_closed_total{reason="forced close",server="a"} 0
ferry_connections_closed_total{reason="parse error",server="a"} 0
ferry_connections_closed_total{reason="ping timeout",server="a"} 0
ferry_connections_closed_total{reason="queue full",server="a"} 1
ferry_connections_closed_total{reason="server shutting down",server="a"} 0
ferry_connections_closed_total{reason="transport close",server="a"} 1
ferry_connections_closed_total{reason="transport error",server="a"} 0
# HELP ferry_connections_opened_total Engine.IO connections opened, by the transport of their handshake.
# TYPE ferry_connections_opened_total counter
ferry_connections_opened_total{server="a",transport="polling"} 2
ferry_connections_opened_total{server="a",transport="websocket"} 1
# HELP ferry_disconnects_total Sockets disconnected, by reason.
# TYPE ferry_disconnects_total counter
ferry_disconnects_total{reason="client namespace disconnect",server="a"} 0
ferry_disconnects_total{reason="forced close",server="a"} 0
ferry_disconnects_total{reason="other",server="a"} 1
ferry_disconnects_total{reason="parse error",server="a"} 0
ferry_disconnects_total{reason="ping timeout",server="a"} 1
ferry_disconnects_total{reason="server error",server="a"} 0
ferry_disconnects_total{reason="server namespace disconnect",server="a"} 0
ferry_disconnects_total{reason="server shutting down",server="a"} 0
ferry_disconnects_total{reason="transport close",server="a"} 0
ferry_disconnects_total{reason="transport error",server="a"} 0
# HELP ferry_packets_total Engine.IO packets read (in) and written (out), by transport.
# TYPE ferry_packets_total counter
ferry_packets_total{direction="in",server="a",transport="polling"} 2
ferry_packets_total{direction="in",server="a",transport="websocket"} 1
ferry_packets_total{direction="out",server="a",transport="polling"} 1
ferry_packets_total{direction="out",server="a",transport="websocket"} 3
# HELP ferry_queue_overflows_total Connections closed because their outbound queue overflowed.
# TYPE ferry_queue_overflows_total counter
ferry_queue_overflows_total{server="a"} 1
# HELP ferry_requests_refused_total Requests refused with an Engine.IO error, by cause.
# TYPE ferry_requests_refused_total counter
ferry_requests_refused_total{cause="bad handshake method",server="a"} 0
ferry_requests_refused_total{cause="bad request",server="a"} 0
ferry_requests_refused_total{cause="forbidden",server="a"} 0
ferry_requests_refused_total{cause="origin not allowed",server="a"} 2
ferry_requests_refused_total{cause="other",server="a"} 1
ferry_requests_refused_total{cause="server closed",server="a"} 0
ferry_requests_refused_total{cause="unknown sid",server="a"} 1
ferry_requests_refused_total{cause="unknown transport",server="a"} 0
ferry_requests_refused_total{cause="unsupported protocol version",server="a"} 0
# HELP ferry_sockets Sockets connected, in every namespace.
# TYPE ferry_sockets gauge
ferry_sockets{server="a"} 1
# HELP ferry_upgrades_total Upgrades from long-polling to WebSocket, by result, and cause of failure.
# TYPE ferry_upgrades_total counter
ferry_upgrades_total{cause="",result="succeeded",server="a"} 1
ferry_upgrades_total{cause="probe closed",result="failed",server="a"} 2
ferry_upgrades_total{cause="protocol error",result="failed",server="a"} 2
ferry_upgrades_total{cause="session closed",result="failed",server="a"} 1
ferry_upgrades_total{cause="timeout",result="failed",server="a"} 1
ferry_upgrades_total{cause="transport error",result="failed",server="a"} 1
`
	require.NoError(t, testutil.CollectAndCompare(col, strings.NewReader(want)))

	// The adapter's counts are read at each collection.
	stats.Published = 8
	assert.Equal(t, 8.0, gather(t, col)[`ferry_adapter_published_total{server="a"}`])
}

// TestCollectorRegisters checks the collector against a registry's
// consistency checks (descriptions match what is collected; names, label
// names and help are valid), with and without the adapter metrics.
func TestCollectorRegisters(t *testing.T) {
	t.Parallel()
	for _, opts := range []*metrics.Options{nil, {AdapterStats: func() metrics.AdapterStats { return metrics.AdapterStats{} }}} {
		col := metrics.New(opts)
		reg := prometheus.NewPedanticRegistry()
		require.NoError(t, reg.Register(col))
		families, err := reg.Gather()
		require.NoError(t, err)
		want := 12
		if opts != nil {
			want = 17
		}
		assert.Len(t, families, want)
		n, err := testutil.GatherAndCount(reg)
		require.NoError(t, err)
		assert.Positive(t, n)
	}
}

// TestCollectorConcurrent counts from many goroutines at once: no count is
// lost (run with -race).
func TestCollectorConcurrent(t *testing.T) {
	t.Parallel()
	col := metrics.New(nil)
	o := col.Observer()
	const goroutines, each = 8, 1000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				o.Engine.PacketsOut("websocket", 2, 10)
				o.Engine.Opened("polling")
				o.Engine.Closed("polling", session.ReasonTransportClose)
				o.Broadcast("/")
			}
		})
	}
	// Collections run meanwhile.
	wg.Go(func() {
		for range 20 {
			testutil.CollectAndCount(col)
		}
	})
	wg.Wait()
	v := gather(t, col)
	assert.Equal(t, float64(goroutines*each*2), v[`ferry_packets_total{direction="out",transport="websocket"}`])
	assert.Equal(t, float64(goroutines*each*10), v[`ferry_bytes_total{direction="out",transport="websocket"}`])
	assert.Equal(t, float64(goroutines*each), v[`ferry_connections_opened_total{transport="polling"}`])
	assert.Equal(t, 0.0, v[`ferry_connections{transport="polling"}`])
	assert.Equal(t, float64(goroutines*each), v[`ferry_broadcasts_total`])
}
