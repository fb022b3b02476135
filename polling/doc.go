// Package polling is the HTTP long-polling Transport: a GET is held open
// until the session has packets for it, a POST delivers packets from the
// client.
//
// In: the session's HTTP requests for one sid (routed here by the session
// layer). Out: [transport.Packet] values delivered to the session, and
// payloads written to GET responses.
//
// Wire rules (Engine.IO v4): bodies are text payloads of records separated
// by 0x1E, binary messages travel as "b"+base64 records. A GET answers with
// every queued packet in one payload (200, text/plain; charset=UTF-8,
// Cache-Control: no-store, gzip or deflate at or above a size threshold). A
// POST answers "ok" (text/html).
//
// Concurrency: at most one GET may be parked and one POST in flight per
// session; a second of either is answered 400 and closes the session, as the
// reference server does. The parked GET is the session's only writer while
// the session is on long-polling. POST handlers deliver packets to the
// session synchronously and in order, so the session sees client packets in
// the order the client sent them. Every response is written within
// Options.WriteTimeout per 32 KiB chunk: a client that stops reading fails
// its GET, and the transport ends with an error, rather than holding the
// handler, while a slow one taking a large response gets it whole.
//
// Clusters: a server that receives a request for a session another server
// holds reads it (ReadPost) and writes the answer; the holder serves it on
// its transport with Poll and Post, through a Responder that carries the
// answer back, under the same rules as its own requests.
//
// Intermediaries: a GET is held until there is something to send, which a
// proxy or load balancer with a shorter request timeout cuts, ending the
// session. Options.MaxPollHold caps the hold (the GET is answered with a
// noop); without it, GETs cut again and again at one age are reported in
// the log. Transport.LastProgress tells the session heartbeat that a client
// is still sending a large POST or taking a large response.
package polling
