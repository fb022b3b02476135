// Package jsclient serves Ferry's browser client, the bundle built from
// client-js/ (socket.io-client with the msgpack parser, global `ferry`).
//
// It is an internal helper, not a layer: it imports no Ferry package, and the
// server mounts its [Handler] at <path>/ferry.min.js and
// <path>/ferry.min.js.map.
//
// In: GET or HEAD requests whose URL path ends in ferry.min.js or
// ferry.min.js.map. Out: the embedded files, with a strong ETag (304 on a
// matching If-None-Match), a long-lived Cache-Control, and a pre-compressed
// gzip variant of ferry.min.js when Accept-Encoding allows it.
//
// The files in dist/ are copies made by `npm run sync` in client-js/. The
// package's tests rebuild the bundle from client-js/ and fail when the
// copies are stale; they need client-js/node_modules (`make deps`).
package jsclient
