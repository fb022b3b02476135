// The official socket.io-client 4.8 in one cell of the proxy matrix
// (internal/proxymatrix): it connects to URL, optionally through an HTTP
// forward proxy, and exchanges numbered messages with the matrix app for
// DURATION_MS, then prints one JSON result on stdout.
//
// Environment:
//   URL           the server's base URL
//   PROXY         an HTTP proxy URL (http-proxy-agent), or empty
//   TRANSPORTS    comma-separated, default "polling,websocket"
//   TRY_ALL       "1" sets tryAllTransports
//   DURATION_MS   how long numbered messages are sent, default 3000
//   BIG           bytes of one binary message sent at the start, echoed back
//   BIG_WAIT_MS   how long to wait for it after the exchange, default 120000
//   ID            the client id (auth), default random
//   TICK_MS       the gap between numbered messages, default 100
//   IDLE_FIRST_MS how long to stay silent after connecting before the
//                 exchange (the server starts its numbers with the first
//                 one it receives), default 0
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import { HttpProxyAgent } from "http-proxy-agent";

const env = process.env;
const duration = Number(env.DURATION_MS || 3000);
const tick = Number(env.TICK_MS || 100);
const idleFirst = Number(env.IDLE_FIRST_MS || 0);
const big = Number(env.BIG || 0);
const bigWait = Number(env.BIG_WAIT_MS || 120_000);
const opts = {
  transports: (env.TRANSPORTS || "polling,websocket").split(","),
  tryAllTransports: env.TRY_ALL === "1",
  parser: msgpackParser,
  auth: { id: env.ID || Math.random().toString(36).slice(2) },
  reconnectionDelay: 200,
  reconnectionDelayMax: 1000,
};
if (env.PROXY) opts.agent = new HttpProxyAgent(env.PROXY);

const start = performance.now();
const ms = () => Math.round(performance.now() - start);
const result = { firstEventMs: null, connects: 0, recovered: 0, reasons: [], down: [], upSent: 0, transports: [], bigBackMs: null, errors: [] };
const socket = io(env.URL, opts);
socket.io.on("error", (err) => result.errors.length < 5 && result.errors.push(String(err?.message ?? err)));
socket.on("connect", () => {
  result.connects++;
  if (socket.recovered) result.recovered++;
  socket.io.engine.on("upgrade", (t) => result.transports.push(`${ms()}ms ${t.name}`));
  result.transports.push(`${ms()}ms ${socket.io.engine.transport.name}`);
});
socket.on("disconnect", (reason) => result.reasons.push(`${ms()}ms ${reason}`));
socket.on("welcome", () => {
  if (result.firstEventMs === null) result.firstEventMs = ms();
});
socket.on("down", (n) => result.down.push(n));
socket.on("big-back", (buf) => {
  if (result.bigBackMs === null && (buf.length ?? buf.byteLength) === big) result.bigBackMs = ms();
});

const finish = (code) => {
  result.transport = socket.io.engine?.transport?.name ?? null;
  result.connected = socket.connected;
  console.log(JSON.stringify(result));
  socket.disconnect();
  process.exit(code);
};
const hardLimit = setTimeout(() => {
  result.errors.push("no report within the time limit");
  finish(0);
}, idleFirst + duration + 60_000 + (big ? bigWait : 0));

socket.once("connect", async () => {
  if (idleFirst) await new Promise((r) => setTimeout(r, idleFirst));
  if (big) socket.emit("big", Buffer.alloc(big, 9));
  const timer = setInterval(() => socket.emit("up", result.upSent++), tick);
  await new Promise((r) => setTimeout(r, duration));
  clearInterval(timer);
  if (big) {
    const until = ms() + bigWait;
    while (result.bigBackMs === null && ms() < until) await new Promise((r) => setTimeout(r, 100));
  }
  try {
    const report = await socket.timeout(30_000).emitWithAck("report");
    result.report = report;
  } catch (err) {
    result.errors.push(`report: ${err.message}`);
  }
  clearTimeout(hardLimit);
  finish(0);
});
