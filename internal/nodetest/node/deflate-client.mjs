// Drives the official socket.io-client 4.x (in Node, over the ws package,
// which offers permessage-deflate by default) against a Ferry server
// running the app of deflate_test.go (repository root). Usage:
//   node deflate-client.mjs <url> <transports, comma-separated> <on|off>
// With "on" the WebSocket must have negotiated permessage-deflate, and a
// large echo must cost few bytes on the wire both ways, but for events the
// server emits with Compress(false); with "off" nothing is compressed.
// Prints the measured bytes as JSON. Exits non-zero, with the failed check
// on stderr, on any mismatch.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [url, transportList, expect] = process.argv.slice(2);
if (!url || !transportList || !["on", "off"].includes(expect)) {
  console.error("usage: node deflate-client.mjs <url> <transports> <on|off>");
  process.exit(2);
}
const within = (ms, what, p) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms))]);
const once = (em, ev, ms = 5000) => within(ms, ev, new Promise((res) => em.once(ev, (...a) => res(a))));

// About 256 KiB of JSON-like text: compresses well, as real payloads do.
const rows = [];
for (let i = 0; rows.join(",").length < 256 * 1024; i++) {
  rows.push(JSON.stringify({ id: i, user: `user-${i % 13}`, text: "the quick brown fox", tags: ["a", "b"], ok: i % 2 === 0 }));
}
const big = `[${rows.join(",")}]`;

const socket = io(url, { transports: transportList.split(","), parser: msgpackParser, forceNew: true, reconnection: false });
try {
  await once(socket, "connect");
  const engine = socket.io.engine;
  if (engine.transport.name !== "websocket") await once(engine, "upgrade");
  assert.equal(engine.transport.name, "websocket");
  const ws = engine.transport.ws;
  const extensions = ws.extensions;
  if (expect === "on") assert.match(extensions, /^permessage-deflate/, "extension negotiated");
  else assert.equal(extensions, "", "no extension negotiated");

  const tcp = ws._socket;
  const measure = async (event) => {
    const read = tcp.bytesRead;
    const written = tcp.bytesWritten;
    const got = once(socket, event);
    socket.emit(event, big);
    const [echo] = await got;
    assert.equal(echo, big, `${event}: the echo is intact`);
    return { read: tcp.bytesRead - read, written: tcp.bytesWritten - written };
  };
  const echo = await measure("echo");
  const plain = await measure("echo-plain");
  const size = big.length;
  if (expect === "on") {
    assert.ok(echo.read < size / 4, `echo: ${echo.read} bytes read for ${size}: not compressed`);
    assert.ok(echo.written < size / 4, `echo: ${echo.written} bytes written for ${size}: not compressed`);
    assert.ok(plain.read > size, `echo-plain: ${plain.read} bytes read for ${size}: compressed despite Compress(false)`);
  } else {
    assert.ok(echo.read > size, `echo: ${echo.read} bytes read for ${size}: compressed`);
    assert.ok(echo.written > size, `echo: ${echo.written} bytes written for ${size}: compressed`);
  }
  console.log(JSON.stringify({ extensions, size, echo, plain }));
} finally {
  socket.close();
}
