// Package proxymatrix runs Ferry behind the proxies and links users sit
// behind: a corporate forward proxy (Debian's squid), a load balancer with a
// request timeout shorter than the long-poll hold (HAProxy), a proxy that
// answers the WebSocket upgrade and then carries nothing, a proxy or NAT
// that drops idle connections (and a NAT that forgets a flow while
// messages cross it, with connection state recovery on), a buffering
// reverse proxy and an HTTP/1.0 upstream (nginx), a slow mobile link and
// connection resets (toxiproxy).
//
// It is its own Go module, so that toxiproxy never enters the core
// module's dependencies. Each component is the real program, started on a
// free port on 127.0.0.1 with its configuration written to the test's
// temporary directory, and stopped when the test ends; nothing is sent
// anywhere but loopback. Where no program does what the network does on
// loopback, the test has a relay of its own: the upgrade answered and then
// carried nothing (StartBlackHoleProxy), the flow a NAT forgets (StartNAT).
//
// Each cell of the matrix (matrix_test.go) runs the official Node client
// (socket.io-client 4.8), Ferry's Go client and, where a browser applies,
// headless Chromium, through the component, against Ferry and against Node
// socket.io 4.8 as a reference. Every client exchanges numbered messages
// with the matrix app both ways; a cell records the transport the client
// ends on, the time to the first event, reconnections, and the messages
// lost or duplicated. Ferry's results are asserted on; Node's are recorded.
//
// The test suite runs each cell for a few seconds with short heartbeats.
// PROXYMATRIX_DURATION (such as 30s) sets the length of the exchange, and
// PROXYMATRIX_REPORT names a file to which the run writes the table of
// every cell, Ferry and Node side by side, as Markdown.
package proxymatrix
