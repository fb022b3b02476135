// Package metrics exports a Ferry server's events as Prometheus metrics.
// It lives in a module of its own, so that the library pulls in no
// Prometheus code: Ferry reports events through ferry.Options.Observer, and
// a Collector counts them and is a prometheus.Collector.
//
//	col := metrics.New(nil)
//	srv := ferry.NewServer(&ferry.Options{Observer: col.Observer()})
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(col)
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Counting costs one or two atomic adds per event, on the goroutine of the
// event; nothing is allocated, and label values are resolved only when the
// metrics are collected.
//
// # Metrics
//
// Connections are Engine.IO sessions (a client's connection, whatever the
// namespaces it joins); sockets are its connections to namespaces. The
// label values of reasons and causes are the names Ferry and socket.io give
// them.
//
//	ferry_connections{transport}                 gauge: connections open (or writing their last packets), by the transport they use now
//	ferry_connections_opened_total{transport}    connections opened, by the transport of their handshake
//	ferry_connections_closed_total{reason}       connections closed, by session.CloseReason ("transport close", "ping timeout", "queue full", ...)
//	ferry_upgrades_total{result,cause}           upgrades from long-polling to WebSocket: result "succeeded" (cause ""),
//	                                             or "failed" with cause "timeout", "probe closed", "protocol error",
//	                                             "session closed" or "transport error"
//	ferry_requests_refused_total{cause}          requests refused with an Engine.IO error, by session.Refusal ("origin not allowed",
//	                                             "unknown transport", "unknown sid", "unsupported protocol version", ...)
//	ferry_packets_total{direction,transport}     Engine.IO packets read ("in") and written ("out")
//	ferry_bytes_total{direction,transport}       their size in bytes, as session.Observer.PacketsIn defines it (framing and
//	                                             compression left out)
//	ferry_sockets                                gauge: sockets connected, in every namespace
//	ferry_disconnects_total{reason}              sockets disconnected, by ferry.DisconnectReason ("client namespace disconnect", ...)
//	ferry_broadcasts_total                       broadcasts made on this server (see ferry.Observer.Broadcast)
//	ferry_ack_timeouts_total                     EmitWithAck calls, to a socket or a broadcast, whose deadline passed first
//	ferry_queue_overflows_total                  connections closed because their outbound queue overflowed
//
// With Options.AdapterStats set (a cluster adapter's counts, such as those
// of redisadapter.Factory.Stats), also:
//
//	ferry_adapter_published_total                messages the adapter published to other servers
//	ferry_adapter_publish_errors_total           messages it could not publish (refused, timed out, or dropped)
//	ferry_adapter_dropped_total                  among those, messages dropped because its queue was full
//	ferry_adapter_received_total                 messages it received from other servers
//	ferry_adapter_undecodable_total              among those, messages it could not decode
//
// One Collector may observe several servers; their counts add up.
package metrics
