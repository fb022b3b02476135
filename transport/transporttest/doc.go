// Package transporttest is the conformance suite every
// [transport.Transport] implementation must pass, and an in-memory
// [Session] to drive transports in tests.
//
// Layer: test support for the transport layer; it imports only transport
// (and gorilla/websocket, for WebSocketPeer).
// In: a [MakeTransport] function that starts the transport under test bound
// to a session, and returns it with a [Peer], its client end. Out: subtests,
// run by [Run], that fail where the transport breaks the contract below.
//
// A transport package uses it from its tests:
//
//	func TestConformance(t *testing.T) {
//		transporttest.Run(t, func(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
//			// Start the transport bound to s, behind an httptest.Server
//			// closed with t.Cleanup, and return it with a client Peer.
//		})
//	}
//
// Run's subtests are parallel; each has its own [Session], transport and
// peer, makes the transport the session's writer with [Session.Bind], and
// when it ends closes both, waits for the transport's Done and fails on any
// rule violation the session recorded ([Session.Err]). Each subtest must
// finish within [Timeout].
//
// # The Transport contract
//
// A session owns one outbound queue. The transport that is its writer pulls
// batches from that queue with Session.Take and writes them to the peer;
// every transport of the session hands what it reads to Session.Deliver.
// Transports do not interpret packets in either direction: every type,
// Close and Upgrade included, is written and delivered as it is, and acting
// on it is the session's job.
//
// Writing:
//
//  1. The transport calls Take whenever it is able to write: a WebSocket
//     when it starts, after each write, and after each Wake; long-polling
//     when a GET arrives, and after each Wake while a GET is parked.
//     Long-polling answers one GET with the batch of one Take, as one
//     payload; a WebSocket writes each packet of a batch as its own frame
//     (binary messages as binary frames, or "b"+base64 text frames if the
//     client asked for base64).
//  2. A Take that returns no packets means there is nothing to write, which
//     is also the answer to a transport that is not (or no longer) the
//     session's writer. The transport then keeps waiting: a parked GET stays
//     parked, and nothing is written.
//  3. Each packet of a batch is written once, in order, keeping its kind
//     (text or binary). The transport must not modify the packets. A
//     broadcast packet carries a transport.FrameCache in Shared and may be
//     written by many transports, or more than once by one: a transport may
//     cache its encoding there.
//  4. Wake never blocks and calls no Session method before it returns; it
//     only signals. Wakes may be coalesced but never lost: a Wake that comes
//     while the transport is in Take or writing is followed by another Take.
//     Wake on an ended transport does nothing.
//  5. When Take reports last == true (it does so only with a non-empty
//     batch) the transport writes the batch, calls Take no more, and ends
//     with a nil reason. The peer receives the whole batch before it sees
//     the end.
//
// Reading:
//
//  6. Packets read from the peer are passed to Deliver one at a time, from
//     one goroutine at a time, in the order the peer sent them. Long-polling
//     delivers (or has refused) every packet of a POST before answering it,
//     so the client's next POST cannot overtake it.
//  7. A delivered packet's Data belongs to the session: the transport must
//     not modify or reuse that memory afterwards.
//  8. Deliver may block, and it may call the transport's Close (a session
//     does when the packet was a close packet). Take returns promptly, but
//     it too may call Close or Wake. So a transport must not hold a lock
//     that Close or Wake needs while it calls Deliver or Take.
//  9. When Deliver returns an error, the transport delivers nothing more
//     (long-polling drops the rest of the POST and answers it with an error
//     status). An error wrapping transport.ErrUnexpectedPacket means the
//     peer broke the protocol: the transport ends with that error as its
//     reason. Any other error means the session is closing: the transport
//     leaves ending it to the session.
//  10. Malformed input ends the transport with a reason wrapping
//     transport.ErrInvalidPacket, after delivering the packets before the
//     bad one.
//
// Ending:
//
//  11. A transport ends once, for the first of these causes: Close was
//     called; it wrote a batch taken with last == true; or the peer went
//     away, an I/O error occurred, or the peer broke the protocol. A client
//     that vanishes must be noticed: a dropped WebSocket connection, or a
//     parked GET whose connection drops.
//  12. Close is safe for concurrent use and idempotent: every call after the
//     first returns nil. It does not block on the peer or wait for the
//     transport's goroutines (it may be called from inside Deliver or Take),
//     and it does not flush the queue; the session uses last for a final
//     flush. It releases what the peer has pending: a parked GET is answered
//     with the batch of one final Take if that returns packets, else with a
//     payload holding one close packet ("1"); a WebSocket connection is
//     closed. Requests that arrive after the end get an error status or
//     that close payload, without calling the session.
//  13. When a transport ends it calls TransportClosed exactly once, with a
//     nil reason if it ended by Close or by a last batch and a non-nil one
//     otherwise (transport.ErrPeerClosed for an orderly close by the peer).
//     It makes that call only after every Take and Deliver call it started
//     has returned, and it calls no Session method afterwards. Close may
//     make the call itself before returning when no such call is in flight,
//     so a session must not hold a lock that TransportClosed needs while it
//     calls Close.
//  14. Done is closed after TransportClosed has returned. Once Done is
//     closed the session will hear nothing more from the transport, and
//     the goroutines the transport started are ending.
//  15. All methods are safe for concurrent use. Name returns the same
//     query-parameter name on every call.
//
// # The Peer contract
//
// A [Peer] is a minimal client written for the transport under test: it
// speaks the wire format (payloads and GET/POST for long-polling, frames
// for a WebSocket) and reports exactly what the server wrote, without
// acting on packet types. Run calls Send and Receive concurrently with each
// other, but never two Sends or two Receives at once; Close may come at any
// time. Receive waits for the server: polling issues one GET per call.
// [PollingPeer] and [WebSocketPeer] are those of the two Engine.IO
// transports' wire forms.
//
// # What Run checks
//
//   - Name: a non-empty, stable name.
//   - ServerToClient, ClientToServer, Bidirectional: many packets of every
//     type, text and binary (empty, multi-byte UTF-8, binary holding 0x1E
//     or invalid UTF-8, text that looks like base64), in chunks, arrive
//     once, in order, with their kind (rules 1, 3, 6).
//   - WakeEmptyQueue: Wake with nothing queued returns and writes nothing
//     (rules 2, 4).
//   - ConcurrentWake: Wake from many goroutines while others push loses,
//     duplicates and reorders nothing (rule 4).
//   - LargePackets: binary and text packets of 125, 126 and about 64 KiB
//     bytes, both ways.
//   - SharedPackets: broadcast packets, each with a FrameCache, pushed
//     twice to each of two transports, arrive intact every time (rule 3).
//   - NotWriter: a transport that is not the writer keeps waiting, and
//     writes the queue once bound and woken (rule 2).
//   - Close: a pending Receive is released, Close is idempotent, Done
//     closes after TransportClosed(nil), and nothing is taken or delivered
//     afterwards (rules 12 to 14).
//   - LastQueued, LastParked: a last batch is written, then the transport
//     ends with a nil reason (rule 5).
//   - PeerClose: a vanished client ends the transport with a non-nil reason
//     (rule 11).
//   - DeliverRejected: nothing is delivered after Deliver fails (rule 9).
//   - DeliverUnexpected: a packet refused as unexpected ends the transport
//     with that reason (rule 9).
//   - CloseInDeliver: Close called from inside Deliver does not deadlock
//     (rules 8, 12).
//
// Throughout, the [Session] records calls that break rules 5, 9 and 13.
package transporttest
