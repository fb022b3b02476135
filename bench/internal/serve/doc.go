// Package serve runs a benchmark server process: it raises the open-file
// limit, listens on 127.0.0.1 with an OS-picked port, prints that port as
// the first line of stdout (the load tool waits for it), and serves until
// SIGTERM or SIGINT.
//
// In: an http.Handler. Out: a running process the load tool can measure.
package serve
