// Package load is the benchmark's load generator: it starts a server
// process, drives one scenario against it over loopback, measures the
// server from /proc, and reports one Result (a JSON line).
//
// In: a Server (a command line that prints its port) and Params. Out: one
// Result per scenario variant, written as JSON lines.
//
// The clients are deliberately lean so that the load side is not what is
// measured: a Socket.IO client here is a gorilla/websocket connection (or
// raw HTTP/1.1 for long-polling) that sends frames encoded once in advance
// with Ferry's parser and transport codecs, answers pings, and decodes only
// what a scenario checks. Node's socket.io speaks the same protocol, so the
// same client serves both; the raw server gets raw frames instead.
//
// Every scenario is bounded in count and time: it opens a fixed number of
// connections, runs for a fixed duration or a fixed number of messages, and
// gives up at Params.Timeout.
//
// Concurrency: each connection has at most one reading goroutine; writes
// that can come from two goroutines (a ping answer and the scenario's
// traffic) hold the connection's write lock.
package load
