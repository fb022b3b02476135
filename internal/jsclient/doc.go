// Package jsclient serves Ferry's browser client, the bundle built from
// client-js/ (socket.io-client with the msgpack parser, global `ferry`).
//
// It is an internal helper, not a layer: it imports no Ferry package, and the
// server routes <path>ferry.* requests to its [Handler].
//
// In: GET or HEAD requests whose URL path ends in ferry.min.js, in the
// bundle's content-hashed name ferry.<hash>.min.js ([Handler.HashedName]),
// or in ferry.min.js.map. Out: the embedded files, with a strong ETag (304
// on a matching If-None-Match), a pre-compressed gzip variant of the bundle
// when Accept-Encoding allows it, and Cache-Control of one day under the
// plain names, or of a year, immutable, under the hashed name.
//
// The files in dist/ are copies made by `npm run sync` in client-js/. The
// package's tests rebuild the bundle from client-js/ and fail when the
// copies are stale; they need client-js/node_modules (`make deps`).
package jsclient
