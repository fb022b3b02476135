// Drives the official socket.io-client 4.x against the TLS example
// (examples/tls), trusting only the certificate the test made. Usage:
//   node tls-client.mjs <https URL> <CA certificate PEM file>
// Checks: a client that does not trust the certificate is refused; one that
// does opens with long-polling over https://, upgrades to wss:// with
// permessage-deflate negotiated, and a 256 KiB echo comes back intact over
// the WebSocket. Prints what it saw as JSON; exits non-zero, with the failed
// check on stderr, on any mismatch.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [url, caFile] = process.argv.slice(2);
if (!url || !caFile) {
  console.error("usage: node tls-client.mjs <https URL> <CA file>");
  process.exit(2);
}
const within = (ms, what, p) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms))]);
const once = (em, ev, ms = 5000) => within(ms, ev, new Promise((res) => em.once(ev, (...a) => res(a))));
const step = (name) => console.error("ok -", name);
const base = { parser: msgpackParser, forceNew: true, reconnection: false };

// 1. Without the certificate trusted, the TLS handshake fails.
const untrusted = io(url, base);
try {
  const [err] = await once(untrusted, "connect_error");
  // The TLS handshake failed: the XMLHttpRequest reports status 0.
  assert.equal(err.message, "xhr poll error");
  assert.equal(err.description, 0);
  step("an untrusting client is refused");
} finally {
  untrusted.close();
}

// 2. Trusting it: polling over https://, then wss://.
const socket = io(url, { ...base, ca: readFileSync(caFile) });
try {
  const engine = await new Promise((res, rej) => {
    socket.io.once("open", () => res(socket.io.engine));
    socket.io.once("error", rej);
  });
  assert.equal(engine.transport.name, "polling", "opens with long-polling");
  const pollURL = engine.transport.uri();
  assert.match(pollURL, /^https:\/\//);
  step("long-polling over https://");
  if (engine.transport.name !== "websocket") await once(engine, "upgrade");
  const ws = engine.transport.ws;
  assert.match(ws.url, /^wss:\/\//);
  assert.match(ws.extensions, /^permessage-deflate/, "permessage-deflate negotiated");
  step("upgraded to wss:// with permessage-deflate");
  if (!socket.connected) await once(socket, "connect");

  const rows = [];
  for (let i = 0, n = 2; n < 256 * 1024; i++) {
    const row = { id: i, user: `user-${i % 13}`, text: "the quick brown fox", tags: ["a", "b"], ok: i % 2 === 0 };
    n += JSON.stringify(row).length + 1;
    rows.push(row);
  }
  const tcp = ws._socket;
  const read = tcp.bytesRead;
  const reply = await socket.timeout(10000).emitWithAck("echo", { rows });
  const wire = tcp.bytesRead - read;
  assert.deepEqual(reply.rows, rows, "echo intact");
  assert.equal(reply.transport, "websocket");
  assert.equal(reply.secure, true);
  assert.ok(wire < 256 * 1024 / 4, `${wire} bytes read for the echo: not compressed`);
  step("256 KiB echo over wss://, compressed");
  console.log(JSON.stringify({ poll: pollURL.replace(/\?.*/, ""), ws: ws.url.replace(/\?.*/, ""), extensions: ws.extensions, rows: rows.length, wire }));
} finally {
  socket.close();
}
