// Official socket.io-client 4.8 clients against a cluster of Ferry servers
// behind a load balancer: the client side of redisadapter's relay cluster
// tests.
//
// Environment:
//   URL        the balancer's base URL
//   MODE       polling | websocket | upgrade (polling, then WebSocket)
//   CLIENTS    number of clients (default 500), started 2 ms apart
//   MESSAGES   numbered "msg" events each client sends (default 20), one
//              every INTERVAL ms (default 50); the server echoes each
//   RECONNECT  1: clients reconnect after losing their connection; once
//              they have sent their messages and read "killed" on stdin,
//              they end their run with an acknowledged "final" event, sent
//              again until it is acknowledged
//   DEADLINE   ms after which the run ends even if clients are not done
//              (default 60000)
//
// Out, one JSON object a line: {"type":"connected"} once every client has
// connected; {"type":"summary", ...counts} at the end (see clusterClients
// in relay_cluster_test.go). Each client checks that the echoes arrive
// once each and in order, and so do the "tick" events servers broadcast.

import { createInterface } from "node:readline";
import { io } from "socket.io-client";

const url = process.env.URL;
const mode = process.env.MODE || "polling";
const clients = Number(process.env.CLIENTS || 500);
const messages = Number(process.env.MESSAGES || 20);
const interval = Number(process.env.INTERVAL || 50);
const reconnect = process.env.RECONNECT === "1";
const deadline = Number(process.env.DEADLINE || 60000);

const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
if (!transports) {
  console.error(`unknown MODE ${mode}`);
  process.exit(2);
}

const sum = {
  clients, connected: 0, finished: 0, upgraded: 0, unknownSid: 0, lost: 0, duplicated: 0,
  reordered: 0, disconnects: {}, reconnected: 0, tickGaps: 0, tickDup: 0, connectError: 0, errors: [],
};
const started = Date.now();
const sockets = [];
// With RECONNECT, the test writes "killed" on stdin once it has killed a
// server: the clients then end their runs.
let killedNow;
const killed = new Promise((resolve) => { killedNow = resolve; });
if (reconnect) {
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() === "killed") killedNow();
  });
}
let finishedAll;
const allFinished = new Promise((resolve) => { finishedAll = resolve; });

function sample(what) {
  if (sum.errors.length < 20) sum.errors.push(what);
}

function isUnknownSid(err) {
  const ctx = err && err.context;
  const text = String((ctx && (ctx.responseText || ctx.message)) || (err && err.message) || "");
  return text.includes("Session ID unknown") || (err && err.description === 400);
}

function start(i) {
  const s = io(url, {
    transports,
    upgrade: mode === "upgrade",
    forceNew: true,
    reconnection: reconnect,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    timeout: 20000,
  });
  sockets.push(s);
  const echoes = new Set();
  let maxEcho = -1;
  let next = 0;
  let connects = 0;
  let done = false;
  let firstTick = -1;
  let lastTick = -1;
  const ticks = new Set();
  let timer;

  const finish = () => {
    if (done) return;
    done = true;
    sum.finished++;
    if (sum.finished === clients) finishedAll();
  };
  s.on("connect", () => {
    connects++;
    if (connects === 1) {
      sum.connected++;
      if (sum.connected === clients) console.log(JSON.stringify({ type: "connected" }));
      timer = setInterval(() => {
        if (next < messages) {
          s.emit("msg", next++);
          if (next === messages && reconnect) killed.then(sendFinal);
        } else {
          clearInterval(timer);
        }
      }, interval);
    }
    s.io.engine.on("upgradeError", (err) => sample(`client ${i}: upgrade error: ${err && err.message}`));
  });
  // With RECONNECT, echoes may be lost with a connection: the run of a
  // client ends with an acknowledged "final" event, sent again until it is
  // acknowledged, through reconnections.
  const sendFinal = () => {
    s.timeout(3000).emit("final", (err) => {
      if (err) {
        sendFinal();
      } else {
        finish();
      }
    });
  };
  s.on("msg", (n) => {
    if (echoes.has(n)) {
      sum.duplicated++;
      sample(`client ${i}: echo ${n} twice`);
      return;
    }
    if (n < maxEcho) {
      sum.reordered++;
      sample(`client ${i}: echo ${n} after ${maxEcho}`);
    }
    echoes.add(n);
    maxEcho = Math.max(maxEcho, n);
    if (n === messages - 1 && !reconnect) finish();
  });
  s.on("tick", (n) => {
    if (ticks.has(n) || n < lastTick) {
      sum.tickDup++;
      sample(`client ${i}: tick ${n} after ${lastTick}`);
      return;
    }
    if (firstTick < 0) firstTick = n;
    ticks.add(n);
    lastTick = n;
  });
  s.on("disconnect", (reason) => {
    sum.disconnects[reason] = (sum.disconnects[reason] || 0) + 1;
  });
  s.on("connect_error", (err) => {
    sum.connectError++;
    if (isUnknownSid(err)) sum.unknownSid++;
    sample(`client ${i}: connect_error: ${err && err.message}`);
  });
  s.io.on("error", (err) => {
    if (isUnknownSid(err)) {
      sum.unknownSid++;
      sample(`client ${i}: Session ID unknown`);
    } else {
      sample(`client ${i}: engine error: ${err && err.message} ${err && err.description}`);
    }
  });
  return () => {
    clearInterval(timer);
    sum.lost += messages - echoes.size;
    if (connects > 1) sum.reconnected++;
    if (s.io.engine && s.io.engine.transport && s.io.engine.transport.name === "websocket") sum.upgraded++;
    if (firstTick >= 0) sum.tickGaps += (lastTick - firstTick + 1) - ticks.size;
    s.off("disconnect"); // closing is not a disconnection the run saw
    s.close();
  };
}

const closers = [];
for (let i = 0; i < clients; i++) {
  closers.push(start(i));
  await new Promise((r) => setTimeout(r, 2));
}
await Promise.race([allFinished, new Promise((r) => setTimeout(r, deadline))]);
// Echoes still in flight for a client that finished arrive within a
// moment: nothing more is expected after the last one.
for (const close of closers) close();
sum.millis = Date.now() - started;
console.log(JSON.stringify({ type: "summary", ...sum }));
process.exit(0);
