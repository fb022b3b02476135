// Official socket.io-client 4.8 clients against a cluster of Ferry servers
// behind a load balancer: the client side of redisadapter's relay cluster
// tests.
//
// Environment:
//   URL        the balancer's base URL
//   MODE       polling | websocket | upgrade (polling, then WebSocket)
//   CLIENTS    number of clients (default 500), started 2 ms apart
//   MESSAGES   numbered "msg" events each client sends (default 20), one
//              every INTERVAL ms (default 50); the server echoes each, with
//              an event, or with RECONNECT with an ack (an event would be
//              replayed on recovery, and its offset, from another server
//              than the ticks', would make the ticks' offsets useless)
//   RECONNECT  1: clients reconnect after losing their connection; once
//              they have sent their messages and read "killed NODE" on
//              stdin (NODE: the node id of the server killed, which begins
//              the ids of its Engine.IO sessions), they end their run with
//              an acknowledged "final" event, sent again until it is
//              acknowledged; every reconnection must recover its session,
//              one the killed server held included
//   DEADLINE   ms after which the run ends even if clients are not done
//              (default 60000)
//
// Out, one JSON object a line: {"type":"connected"} once every client has
// connected; {"type":"summary", ...counts} at the end (see clusterClients
// in relay_cluster_test.go). Each client checks that the echoes arrive
// once each and in order, and so do the "tick" events servers broadcast,
// none missing within one Socket.IO session (a session recovered after a
// reconnection included).

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
  reordered: 0, disconnects: {}, reconnected: 0, recovered: 0, notRecovered: 0, tickGaps: 0, tickDup: 0, earlyEvents: 0,
  connectError: 0, errors: [],
};
const started = Date.now();
const sockets = [];
// With RECONNECT, the test writes "killed NODE" on stdin once it has
// killed a server: the clients then end their runs.
let killedNow;
const killed = new Promise((resolve) => { killedNow = resolve; });
if (reconnect) {
  createInterface({ input: process.stdin }).on("line", (line) => {
    const [word, node] = line.trim().split(" ");
    if (word === "killed" && node) {
      killedNow();
    }
  });
}
let finishedAll;
const allFinished = new Promise((resolve) => { finishedAll = resolve; });

// sample keeps a few lines of what went wrong, those that break the
// run's rules (important) first.
const important = [];
const other = [];
function sample(what, isImportant) {
  const list = isImportant ? important : other;
  if (list.length < 20) list.push(what);
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
  // Ticks are checked per span of one Socket.IO session: a reconnection
  // that recovers its session keeps the span going (the ticks missed in
  // between must be replayed), a fresh session starts a new one at its
  // "connect" event. The events socket.io-client hands out before that
  // event belong to the span before: those a recovered session missed
  // (sent before its CONNECT reply), and those of the previous connection
  // that reached the socket after its "disconnect" (the client's manager
  // passes packets on a tick later), held until the next connection. A
  // fresh session gets none before its CONNECT reply (checked on the wire
  // below), so that counting them in the span before is not a guess. (The
  // socket id does not name the span: the held events of the previous
  // connection come out with the new id.)
  let lastTick = -1; // over the whole run
  const holes = []; // ticks missing in the span, for the report
  const events = []; // disconnections and connections, with the last tick then
  let engineId = null; // the Engine.IO session of the current connection
  const reconnections = []; // [the previous Engine.IO session, recovered]
  let spanFirst = -1;
  let spanLast = -1;
  let spanCount = 0;
  const endSpan = () => {
    const gaps = spanFirst >= 0 ? (spanLast - spanFirst + 1) - spanCount : 0;
    if (gaps > 0) {
      sample(`client ${i}: ${gaps} ticks missing in ${spanFirst}..${spanLast}: ${holes.join(" ")} (connects ${connects}; ${events.join(", ")})`, true);
    }
    holes.length = 0;
    sum.tickGaps += gaps;
    spanFirst = spanLast = -1;
    spanCount = 0;
  };
  let timer;

  const finish = () => {
    if (done) return;
    done = true;
    sum.finished++;
    if (sum.finished === clients) finishedAll();
  };
  s.on("connect", () => {
    connects++;
    events.push(`connect at ${lastTick} recovered ${s.recovered}`);
    if (connects > 1) reconnections.push([engineId, Boolean(s.recovered)]);
    engineId = s.io.engine.id;
    if (connects > 1 && s.recovered) {
      sum.recovered++;
    } else {
      endSpan();
    }
    if (connects === 1) {
      sum.connected++;
      if (sum.connected === clients) console.log(JSON.stringify({ type: "connected" }));
      timer = setInterval(() => {
        if (next < messages) {
          if (reconnect) {
            s.emit("msg", next++, onEcho);
          } else {
            s.emit("msg", next++);
          }
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
  const onEcho = (n) => {
    if (echoes.has(n)) {
      sum.duplicated++;
      sample(`client ${i}: echo ${n} twice (connects ${connects}, recovered ${s.recovered})`, true);
      return;
    }
    if (n < maxEcho) {
      sum.reordered++;
      sample(`client ${i}: echo ${n} after ${maxEcho}`, true);
    }
    echoes.add(n);
    maxEcho = Math.max(maxEcho, n);
    if (n === messages - 1 && !reconnect) finish();
  };
  s.on("msg", onEcho);
  s.on("tick", (n) => {
    if (n <= lastTick) {
      sum.tickDup++;
      sample(`client ${i}: tick ${n} after ${lastTick}`, true);
      return;
    }
    lastTick = n;
    if (spanLast >= 0 && n !== spanLast + 1) holes.push(`${spanLast + 1}..${n - 1}`);
    if (spanFirst < 0) spanFirst = n;
    spanLast = n;
    spanCount++;
  });
  s.on("disconnect", (reason) => {
    events.push(`${reason} at ${lastTick}`);
    sum.disconnects[reason] = (sum.disconnects[reason] || 0) + 1;
  });
  // On the wire: no event of a connection before the CONNECT reply of a
  // fresh session. The manager emits each packet after the socket took it
  // (so at the reply, s.recovered is the new session's); the packets of a
  // closed connection come while s.io.engine is still that connection's.
  let wireEngine = null;
  let wireReplied = false;
  let wireEarly = 0;
  s.io.on("packet", (p) => {
    if (p.nsp !== "/") return;
    if (s.io.engine !== wireEngine) {
      wireEngine = s.io.engine;
      wireReplied = false;
      wireEarly = 0;
    }
    if (p.type === 0) {
      wireReplied = true;
      if (wireEarly > 0 && !s.recovered) {
        sum.earlyEvents += wireEarly;
        sample(`client ${i}: ${wireEarly} events before the CONNECT reply of a fresh session`, true);
      }
    } else if (p.type === 2 && !wireReplied) {
      wireEarly++;
    }
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
    for (const [from, recovered] of reconnections) {
      // Every reconnection recovers, that of a session the killed server
      // held included (its server's live record is restored once it is
      // found dead).
      if (!recovered) {
        sum.notRecovered++;
        sample(`client ${i}: session ${from} not recovered (${events.join(", ")})`, true);
      }
    }
    if (s.io.engine && s.io.engine.transport && s.io.engine.transport.name === "websocket") sum.upgraded++;
    endSpan();
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
sum.errors = important.concat(other).slice(0, 20);
console.log(JSON.stringify({ type: "summary", ...sum }));
process.exit(0);
