// Checks the WebSocket-only example (examples/wsonly) with the official
// socket.io-client: clients with transports ["websocket"] connect and share
// the counter; clients that start on long-polling are refused.
//
// Usage: node wsonly-client.mjs <URL> (a fresh server). Exits non-zero with
// the failed check on stderr.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node wsonly-client.mjs <URL>");
  process.exit(2);
}
const LIMIT_MS = 3000;
const step = (name) => console.log("ok -", name);

// client connects and keeps the latest "count" and "online" values, with a
// way to wait until one matches.
function client(transports) {
  const socket = io(url, { transports, parser: msgpackParser, forceNew: true, reconnection: false });
  const latest = {};
  const waiters = new Set();
  for (const event of ["count", "online"]) {
    socket.on(event, (v) => {
      latest[event] = v;
      for (const w of waiters) w();
    });
  }
  const until = (event, want) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (latest[event] === want) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`"${event}" is ${latest[event]}, want ${want} (waited ${LIMIT_MS} ms)`));
      }, LIMIT_MS);
      waiters.add(check);
      check();
    });
  return { socket, until };
}

function outcome(socket) {
  return new Promise((resolve) => {
    socket.once("connect", () => resolve({ connected: true }));
    socket.once("connect_error", (err) => resolve({ connected: false, err }));
  });
}

const sockets = [];
try {
  const a = client(["websocket"]);
  const b = client(["websocket"]);
  sockets.push(a.socket, b.socket);
  const [ra, rb] = await Promise.all([outcome(a.socket), outcome(b.socket)]);
  assert.ok(ra.connected && rb.connected, `websocket clients connect: ${ra.err ?? ""} ${rb.err ?? ""}`);
  assert.equal(a.socket.io.engine.transport.name, "websocket");
  await Promise.all([a.until("count", 0), b.until("count", 0), a.until("online", 2), b.until("online", 2)]);
  step("websocket-only clients connect and get the count and the online number");

  assert.equal(await a.socket.timeout(LIMIT_MS).emitWithAck("add", 1), 1);
  await b.until("count", 1);
  assert.equal(await b.socket.timeout(LIMIT_MS).emitWithAck("add", -1), 0);
  await a.until("count", 0);
  assert.deepEqual(await b.socket.timeout(LIMIT_MS).emitWithAck("add", 5), { error: "step must be +1 or -1" });
  step("the counter is shared and acknowledged; bad steps are refused");

  for (const transports of [["polling"], ["polling", "websocket"]]) {
    const p = io(url, { transports, parser: msgpackParser, forceNew: true, reconnection: false });
    sockets.push(p);
    const r = await outcome(p);
    assert.equal(r.connected, false, `a client with transports ${transports} must be refused`);
    assert.equal(r.err.message, "xhr poll error");
    assert.equal(r.err.context?.status, 400);
    p.close();
  }
  await a.until("online", 2);
  step("clients that start on long-polling are refused");

  b.socket.disconnect();
  await a.until("online", 1);
  step("the online number follows disconnections");
} finally {
  for (const s of sockets) s.disconnect();
}
