// Long-polling only: the official engine.io-client with
// transports: ["polling"] against Ferry's echo engine.
//
// Usage: node engine-polling.mjs <url> <client-close|server-close>
//
// Checks: the session opens over polling and never upgrades; the server's
// greeting (text, then binary) arrives exactly; text and binary messages
// sent by the client come back exactly, each of its kind; the session
// survives at least 5 heartbeat rounds; then either the client closes it
// (close reason "forced close") or it asks the server to close it and gets
// the "close" event with reason "transport close".
import { Socket } from "engine.io-client";
import { deadline, expectMessages, fail } from "./engine-check.mjs";

const [url, mode] = process.argv.slice(2);
if (!url || !["client-close", "server-close"].includes(mode)) {
  fail("usage: engine-polling.mjs <url> <client-close|server-close>");
}

const PINGS = 5;
// What the Go echo app sends when a session opens.
const greeting = ["welcome ✓", Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00])];
// What this client sends; the echo app returns each unchanged. The binary
// message holds 0x1e, the payload separator, which base64 must carry.
const outgoing = [
  "hello €ñ 日本",
  Buffer.from([0x00, 0x01, 0x02, 0x1e, 0xfd, 0xfe, 0xff]),
  "",
  Buffer.alloc(0),
];

const socket = new Socket(url, { transports: ["polling"] });
let pings = 0;
let echoed = false;
let closing = false;

const onMessage = expectMessages("polling", [...greeting, ...outgoing], () => {
  echoed = true;
  maybeClose();
});
const done = deadline(10000, () =>
  `pings=${pings} messages=${onMessage.received()} transport=${socket.transport?.name} state=${socket.readyState}`);

socket.on("handshake", (data) => {
  if (!Array.isArray(data.upgrades)) fail(`open packet without an upgrades list: ${JSON.stringify(data)}`);
});
socket.on("open", () => {
  if (socket.transport.name !== "polling") fail(`opened over ${socket.transport.name}`);
  for (const m of outgoing) socket.send(m);
});
socket.on("message", onMessage);
socket.on("ping", () => {
  pings++;
  maybeClose();
});
socket.on("upgrading", () => fail("started an upgrade although only polling was allowed"));
socket.on("error", (err) => fail(`socket error: ${err}`));
socket.on("close", (reason, description) => {
  if (!closing) fail(`closed before the test ended: ${reason} (${description?.description ?? description ?? ""})`);
  const want = mode === "client-close" ? "forced close" : "transport close";
  if (reason !== want) fail(`close reason ${JSON.stringify(reason)}, want ${JSON.stringify(want)}`);
  done();
  console.log(JSON.stringify({ mode, pings, reason }));
});

function maybeClose() {
  if (closing || !echoed || pings < PINGS) return;
  closing = true;
  if (socket.transport.name !== "polling") fail(`transport is ${socket.transport.name}, want polling`);
  if (mode === "client-close") {
    socket.close();
  } else {
    // The echo app closes the session when it reads this.
    socket.send("close-me");
  }
}
