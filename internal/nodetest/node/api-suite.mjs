// Drives the official socket.io-client 4.x against a server running the
// app of api_interop_test.go (repository root), or the same app on
// socket.io 4.8 (api-refserver.mjs), to check that Ferry's server API
// behaves as socket.io's where a client can see it. Usage:
//   node api-suite.mjs <url> <msgpack|json> <transports, comma-separated>
// Exits non-zero, with the failed check on stderr, on any mismatch.
//
// The app, on "/" (and "/admin", which only accepts connections):
//   marker                 emits "marker": what came before it is all that
//                          the client's earlier events caused
//   hello-once             once only (socket.once): emits "hi-once"
//   count                  emits "counted", until stop-counting
//   stop-counting, ack     removes the count handler (socket.off), acks
//   forbidden              refused by the socket's middleware (socket.use)
//                          with "unauthorized event"; its handler would emit
//                          "should-not-run". An onAny handler emits
//                          "seen-by-any" with the event's name first
//   ask-forbidden, ack     refused too, the middleware acking
//                          {error: "not allowed"} itself
//                          The socket's error handler emits "error" with
//                          the refusal's message to the client.
//   order item, ack        asks the client "confirm" item with an ack (2 s
//                          timeout) from the handler, without waiting, and
//                          acks `${item}: ${answer}` from the callback
//   order-unanswered, ack  asks "ignored" with a 100 ms timeout; acks
//                          "timed out" when it passes
//   join room, ack         joins room, acks
//   counts, ack            acks {conns, sockets, admin, red}: engine
//                          connections, sockets of "/" and "/admin", and of
//                          room "red"
//   server-ops, ack        every socket of "/" joins "everyone"; emits
//                          "to-everyone" to it; asks every socket "poll"
//                          with an ack (2 s timeout) and acks
//                          {fetched, acks} from the callback
//   disconnect-all         disconnects every socket of "/"
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [url, parserName, transportList] = process.argv.slice(2);
const transports = transportList.split(",");
const base = { transports, forceNew: true, reconnection: false };
if (parserName === "msgpack") base.parser = msgpackParser;

const step = (name) => console.log("ok -", name);
const within = (ms, what, p) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms))]);
const once = (em, ev, ms = 5000) => within(ms, ev, new Promise((res) => em.once(ev, (...a) => res(a))));

// record keeps every event a socket receives, as "name arg0".
function record(sock) {
  const log = [];
  sock.onAny((event, ...args) => log.push(args.length > 0 ? `${event} ${JSON.stringify(args[0])}` : event));
  return log;
}

// untilMarker emits "marker" and returns what was received since the last
// marker, before the server's answer.
async function untilMarker(sock, log) {
  const got = once(sock, "marker");
  sock.emit("marker");
  await got;
  const before = log.splice(0, log.length);
  assert.equal(before.pop(), "marker");
  return before;
}

async function main() {
  const s1 = io(url, { ...base });
  const s2 = io(url, { ...base });
  await Promise.all([once(s1, "connect"), once(s2, "connect")]);
  const admin = s1.io.socket("/admin");
  await once(admin, "connect");
  const log = record(s1);

  // Once: the handler runs for the first event only.
  s1.emit("hello-once");
  s1.emit("hello-once");
  assert.deepEqual(await untilMarker(s1, log), ["hi-once"]);
  step("once");

  // Off: a removed handler runs no more.
  s1.emit("count");
  assert.deepEqual(await untilMarker(s1, log), ["counted"]);
  await within(5000, "stop-counting ack", s1.emitWithAck("stop-counting"));
  s1.emit("count");
  assert.deepEqual(await untilMarker(s1, log), []);
  step("off");

  // Packet middleware: onAny sees the event first, the middleware refuses
  // it, the handler does not run, no ack comes; the client hears only what
  // the server's error handler sends.
  let acked = false;
  s1.emit("forbidden", () => {
    acked = true;
  });
  assert.deepEqual(await untilMarker(s1, log), ['seen-by-any "forbidden"', 'error "unauthorized event"']);
  assert.equal(acked, false, "a refused event was acked");
  const reply = await within(5000, "ask-forbidden ack", s1.emitWithAck("ask-forbidden"));
  assert.deepEqual(reply, { error: "not allowed" });
  assert.deepEqual(await untilMarker(s1, log), ['error "not allowed"']);
  step("socket.use refuses events; the error handler tells the client");

  // A handler asks its own client for an ack and acks from the callback.
  s1.on("confirm", (item, cb) => cb(`yes to ${item}`));
  s1.on("ignored", () => {});
  assert.equal(await within(5000, "order ack", s1.emitWithAck("order", "tea")), "tea: yes to tea");
  assert.equal(await within(5000, "order-unanswered ack", s1.emitWithAck("order-unanswered")), "timed out");
  step("server-to-client acks with a callback, from a handler");

  // Counts.
  await within(5000, "join ack", s1.emitWithAck("join", "red"));
  assert.deepEqual(await within(5000, "counts ack", s2.emitWithAck("counts")), { conns: 2, sockets: 2, admin: 1, red: 1 });
  step("counts: connections, sockets of a namespace and of a room");

  // Server-level operations on the main namespace.
  s1.on("poll", (cb) => cb("s1"));
  s2.on("poll", (cb) => cb("s2"));
  const everyone = [once(s1, "to-everyone"), once(s2, "to-everyone")];
  const ops = await within(5000, "server-ops ack", s2.emitWithAck("server-ops"));
  assert.deepEqual(await Promise.all(everyone), [[1], [1]]);
  assert.deepEqual(ops, { fetched: 2, acks: 2 });
  step("server socketsJoin, in().emit, fetchSockets, timeout().emit with acks");

  const gone = [once(s1, "disconnect"), once(s2, "disconnect")];
  s1.emit("disconnect-all");
  assert.deepEqual((await Promise.all(gone)).map((args) => args[0]), ["io server disconnect", "io server disconnect"]);
  assert.equal(admin.connected, true, "another namespace's socket stays");
  step("server disconnectSockets");

  admin.close();
  s1.close();
  s2.close();
  console.log("all checks passed");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  },
);
