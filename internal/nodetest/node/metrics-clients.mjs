// Drives a Ferry server with the official socket.io-client for the metrics
// module's test (metrics/scrape_test.go): one client on socket.io-client's
// default path (long-polling, then the upgrade to WebSocket), one
// WebSocket-only, each acknowledging an "echo", then disconnecting; and one
// whose handshake the server refuses for its Origin.
//
// Usage: node metrics-clients.mjs <URL>. Prints "ok - ..." per step; exits
// non-zero with the failed check on stderr.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node metrics-clients.mjs <URL>");
  process.exit(2);
}
const LIMIT_MS = 5000;
const step = (name) => console.log("ok -", name);
const base = { parser: msgpackParser, forceNew: true, reconnection: false };
const within = (what, p) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), LIMIT_MS))]);
const once = (em, ev) => within(ev, new Promise((res) => em.once(ev, (...a) => res(a))));

const sockets = [];
try {
  // The default path: long-polling, then the upgrade.
  const upgrading = io(url, base);
  sockets.push(upgrading);
  const upgraded = once(upgrading.io.engine, "upgrade");
  await once(upgrading, "connect");
  await upgraded;
  assert.equal(upgrading.io.engine.transport.name, "websocket");
  assert.equal(await upgrading.timeout(LIMIT_MS).emitWithAck("echo", "hello"), "back");
  step("default transports: upgraded, echo acknowledged");

  // WebSocket only.
  const ws = io(url, { ...base, transports: ["websocket"] });
  sockets.push(ws);
  await once(ws, "connect");
  assert.equal(await ws.timeout(LIMIT_MS).emitWithAck("echo", "hello"), "back");
  step("websocket only: echo acknowledged");

  // Both disconnect.
  for (const s of [upgrading, ws]) {
    s.disconnect();
  }
  step("disconnected");

  // A handshake from another origin is refused.
  const foreign = io(url, { ...base, transports: ["polling"], extraHeaders: { Origin: "https://evil.example" } });
  sockets.push(foreign);
  const [err] = await once(foreign, "connect_error");
  assert.equal(err.message, "xhr poll error");
  step("foreign origin refused");
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  for (const s of sockets) s.disconnect();
}
