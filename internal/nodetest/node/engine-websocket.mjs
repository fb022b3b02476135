// WebSocket only: the official engine.io-client with
// transports: ["websocket"] against Ferry's echo engine.
//
// Usage: node engine-websocket.mjs <url> <client-close|server-close>
//
// Checks: the session opens directly over WebSocket, with an open packet
// announcing no upgrades; the server's greeting (text, then binary) arrives
// exactly; text and binary messages come back exactly, each of its kind;
// then either the client closes (reason "forced close"), or it asks the
// server to close and gets the "close" event with reason "transport close".
import { Socket } from "engine.io-client";
import { deadline, expectMessages, fail } from "./engine-check.mjs";

const [url, mode] = process.argv.slice(2);
if (!url || !["client-close", "server-close"].includes(mode)) {
  fail("usage: engine-websocket.mjs <url> <client-close|server-close>");
}

const greeting = ["welcome ✓", Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00])];
const outgoing = [
  "hello €ñ 日本",
  Buffer.from([0x00, 0x01, 0x02, 0x1e, 0xfd, 0xfe, 0xff]),
  "",
  Buffer.alloc(0),
];

const socket = new Socket(url, { transports: ["websocket"] });
let handshake = null;
let closing = false;

const onMessage = expectMessages("websocket", [...greeting, ...outgoing], () => {
  closing = true;
  if (mode === "client-close") {
    socket.close();
  } else {
    // The echo app closes the session when it reads this.
    socket.send("close-me");
  }
});
const done = deadline(10000, () => `messages=${onMessage.received()} state=${socket.readyState}`);

socket.on("handshake", (data) => {
  handshake = data;
  const keys = Object.keys(data).sort().join(",");
  if (keys !== "maxPayload,pingInterval,pingTimeout,sid,upgrades") fail(`open packet keys: ${keys}`);
  if (!Array.isArray(data.upgrades) || data.upgrades.length !== 0) {
    fail(`open packet upgrades ${JSON.stringify(data.upgrades)}, want []`);
  }
});
socket.on("open", () => {
  if (handshake === null) fail("open without a handshake");
  if (socket.transport.name !== "websocket") fail(`opened over ${socket.transport.name}, want websocket`);
  for (const m of outgoing) socket.send(m);
});
socket.on("message", onMessage);
socket.on("upgrading", () => fail("started an upgrade on a WebSocket-only session"));
socket.on("error", (err) => fail(`socket error: ${err}`));
socket.on("close", (reason, description) => {
  if (!closing) fail(`closed before the test ended: ${reason} (${description?.message ?? description ?? ""})`);
  const want = mode === "client-close" ? "forced close" : "transport close";
  if (reason !== want) fail(`close reason ${JSON.stringify(reason)}, want ${JSON.stringify(want)}`);
  done();
  console.log(JSON.stringify({ mode, sid: handshake.sid, upgrades: handshake.upgrades, reason }));
});
