// Behind a reverse proxy: the official engine.io-client, default transports,
// against Ferry's echo engine through nginx.
//
// Usage: node engine-proxy.mjs <url> <upgrade|no-upgrade> <rounds>
//
// With "upgrade" the proxy forwards WebSocket handshakes: the socket must
// upgrade to websocket. With "no-upgrade" it does not: the WebSocket probe
// must fail ("upgradeError") and the socket must stay on polling. Either
// way, once the upgrade has settled, the socket sends a text and a binary
// message on each of <rounds> server pings, checks that the greeting and
// every echo arrive exactly and in order, then closes ("forced close").
import { Socket } from "engine.io-client";
import { deadline, expectMessages, fail } from "./engine-check.mjs";

const [url, mode, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg);
if (!url || !["upgrade", "no-upgrade"].includes(mode) || !(rounds > 0)) {
  fail("usage: engine-proxy.mjs <url> <upgrade|no-upgrade> <rounds>");
}
const wantTransport = mode === "upgrade" ? "websocket" : "polling";

// Round r sends the text "round r" and the bytes [r, 0x1e, 255 - r].
const roundMessages = (r) => [`round ${r}`, Buffer.from([r, 0x1e, 255 - r])];
const greeting = ["welcome ✓", Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00])];
const expected = [...greeting];
for (let r = 1; r <= rounds; r++) expected.push(...roundMessages(r));

const socket = new Socket(url);
let settled = false; // the upgrade succeeded or failed
let round = 0;
let pings = 0;
let closing = false;
let upgradeError = null;

const onMessage = expectMessages(`proxy ${mode}`, expected, () => {
  closing = true;
  if (socket.transport.name !== wantTransport) fail(`transport is ${socket.transport.name}, want ${wantTransport}`);
  socket.close();
});
const done = deadline(15000, () =>
  `settled=${settled} round=${round} pings=${pings} messages=${onMessage.received()} transport=${socket.transport?.name} state=${socket.readyState}`);

socket.on("open", () => {
  if (socket.transport.name !== "polling") fail(`opened over ${socket.transport.name}, want polling`);
});
socket.on("message", onMessage);
socket.on("upgrade", (transport) => {
  if (mode === "no-upgrade") fail(`upgraded to ${transport.name} through a proxy that does not forward upgrades`);
  settled = true;
});
socket.on("upgradeError", (err) => {
  if (mode === "upgrade") fail(`upgrade failed through a proxy that forwards upgrades: ${err.message}`);
  upgradeError = err.message;
  settled = true;
});
socket.on("ping", () => {
  pings++;
  if (!settled || round >= rounds) return;
  if (socket.transport.name !== wantTransport) fail(`transport is ${socket.transport.name}, want ${wantTransport}`);
  round++;
  for (const m of roundMessages(round)) socket.send(m);
});
socket.on("error", (err) => fail(`socket error: ${err}`));
socket.on("close", (reason, description) => {
  if (!closing) fail(`closed before the test ended: ${reason} (${description?.message ?? description?.description ?? ""})`);
  if (reason !== "forced close") fail(`close reason ${JSON.stringify(reason)}, want "forced close"`);
  done();
  console.log(JSON.stringify({ mode, transport: wantTransport, pings, rounds: round, upgradeError }));
});
