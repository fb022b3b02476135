// Ordering across the upgrade: many official engine.io-client sockets, with
// the default transports (polling, then the upgrade to WebSocket), each
// streaming numbered messages to Ferry's streaming engine while it streams
// its own back.
//
// Usage: node engine-upgrade-order.mjs <url> <sockets> <count>
//
// Message i is the text "i" when i is even, and i as 4 big-endian bytes,
// binary, when it is odd. Each socket starts sending at "open", a chunk at
// a time (the next chunk when the previous one has drained, and never more
// than a window ahead of what it has received), so its stream spans the
// upgrade; the server does the same, paced by what it has read.
// Checks, per socket: every server message arrives exactly once, in order,
// of the right kind; the socket upgrades to websocket while both streams
// are under way; it then closes cleanly. Prints a JSON summary.
import { Socket } from "engine.io-client";
import { bytes, deadline, describe, fail } from "./engine-check.mjs";

const [url, socketsArg, countArg] = process.argv.slice(2);
const sockets = Number(socketsArg);
const count = Number(countArg);
if (!url || !(sockets > 0) || !(count > 0)) {
  fail("usage: engine-upgrade-order.mjs <url> <sockets> <count>");
}

// CHUNK messages are queued per drain, so that sending takes many round
// trips and the upgrade lands inside the stream.
const CHUNK = 100;
// A socket sends at most WINDOW messages more than it has received, as
// the server does: over WebSocket, engine.io-client reports "drain" as
// soon as frames are handed to the socket, not when they are sent, so
// without a window a socket would buffer its whole stream in memory at
// once.
const WINDOW = 1000;

function message(i) {
  if (i % 2 === 0) return String(i);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(i);
  return b;
}

function isMessage(data, i) {
  if (i % 2 === 0) return data === String(i);
  const b = bytes(data);
  return b !== null && b.length === 4 && b.readUInt32BE(0) === i;
}

const start = Date.now();
const states = [];
let closed = 0;

const done = deadline(100000, () =>
  states
    .filter((s) => !s.closing)
    .slice(0, 5)
    .map((s) => `socket ${s.k}: sent=${s.sent} received=${s.received} upgraded=${s.upgraded}`)
    .join("; "));

for (let k = 0; k < sockets; k++) open(k);

function open(k) {
  const socket = new Socket(url);
  const st = { k, sent: 0, received: 0, upgraded: false, sentAtUpgrade: -1, recvAtUpgrade: -1, closing: false };
  states.push(st);
  let sid = null;
  socket.on("handshake", (data) => { sid = data.sid; });
  const label = () =>
    `socket ${k} (sid ${sid}, transport ${socket.transport?.name}, sent ${st.sent}, received ${st.received}, upgraded ${st.upgraded})`;

  let blocked = false; // the window stopped the last pump short
  const pump = () => {
    if (socket.readyState !== "open") return;
    const end = Math.min(count, st.sent + CHUNK, st.received + WINDOW);
    blocked = end < Math.min(count, st.sent + CHUNK);
    while (st.sent < end) socket.send(message(st.sent++));
    maybeClose();
  };
  const maybeClose = () => {
    if (st.closing || st.sent < count || st.received < count || !st.upgraded) return;
    st.closing = true;
    // close() waits for the write buffer to drain first.
    socket.close();
  };

  socket.on("open", () => {
    if (socket.transport.name !== "polling") fail(`${label()}: opened over ${socket.transport.name}, want polling`);
    pump();
  });
  // Yield to the event loop between chunks: over WebSocket, "drain" comes
  // on process.nextTick, and chaining chunks there would starve every
  // other socket of I/O until this one had sent everything.
  socket.on("drain", () => setImmediate(pump));
  socket.on("upgrade", (transport) => {
    if (transport.name !== "websocket") fail(`${label()}: upgraded to ${transport.name}`);
    st.upgraded = true;
    st.sentAtUpgrade = st.sent;
    st.recvAtUpgrade = st.received;
    maybeClose();
  });
  socket.on("upgradeError", (err) => fail(`${label()}: upgrade failed: ${err.message}`));
  socket.on("message", (data) => {
    if (st.received >= count) fail(`${label()}: message beyond the ${count} expected: ${describe(data)}`);
    if (!isMessage(data, st.received)) {
      fail(`${label()}: message ${st.received}: got ${describe(data)}, want ${describe(message(st.received))}`);
    }
    st.received++;
    if (blocked && Math.min(count, st.sent + CHUNK) <= st.received + WINDOW) {
      blocked = false;
      setImmediate(pump);
    }
    maybeClose();
  });
  socket.on("error", (err) => fail(`${label()}: socket error: ${err}`));
  socket.on("close", (reason, description) => {
    if (!st.closing) fail(`${label()}: closed early: ${reason} ${description?.message ?? description?.description ?? ""}`);
    if (reason !== "forced close") fail(`${label()}: close reason ${reason}`);
    if (st.sentAtUpgrade <= 0 || st.sentAtUpgrade >= count || st.recvAtUpgrade <= 0 || st.recvAtUpgrade >= count) {
      fail(`${label()}: upgrade came outside the streams (sent ${st.sentAtUpgrade}, received ${st.recvAtUpgrade} of ${count})`);
    }
    if (++closed === sockets) report();
  });
}

function report() {
  done();
  const range = (key) => [Math.min(...states.map((s) => s[key])), Math.max(...states.map((s) => s[key]))];
  console.log(JSON.stringify({
    Sessions: sockets,
    Count: count,
    ElapsedMs: Date.now() - start,
    SentAtUpgrade: range("sentAtUpgrade"),
    RecvAtUpgrade: range("recvAtUpgrade"),
  }));
}
