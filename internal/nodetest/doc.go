// Package nodetest runs the official Socket.IO npm packages from Go tests.
//
// The scripts and their pinned dependencies live in the node/ folder beside
// this file (package.json and package-lock.json); `make deps` installs them.
// A Go test starts a Ferry server on 127.0.0.1, then calls [Run] with a
// script name and the server's URL; the script exits non-zero, with its
// reason on stderr, when an assertion fails.
//
// This package imports no Ferry layer package, so any layer's tests may use
// it.
package nodetest
