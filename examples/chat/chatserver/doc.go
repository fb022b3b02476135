// Package chatserver is the chat example's application: a gorilla/mux
// router that mounts a Ferry server at /socket.io/ and serves the embedded
// web page, plus the chat's rooms, presence, typing indicator and message
// history.
//
// In: HTTP requests for the page and its assets, and Socket.IO events from
// the page: "join" {nick, room}, "message" {text} (both acknowledged) and
// "typing" (a boolean). Out: the page, and events to the page: "rooms" (the
// room list with member counts), "presence" (who is in a room, who joined
// or left), "message" (a message from someone else) and "typing" (sent as
// a volatile broadcast). Connection state recovery is on: a page that comes
// back within two minutes is the same member of the same room, and gets the
// events it missed, each with its offset as an extra last argument.
//
// The program in the parent folder runs it on an http.Server; tests mount
// it on httptest. All state lives in the Server value, guarded by one
// mutex, so that room membership, presence broadcasts and message history
// change in one order that every client sees.
package chatserver
