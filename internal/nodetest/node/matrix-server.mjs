// Node socket.io 4.8 reference server for the proxy matrix
// (internal/proxymatrix): the same test app as the matrix's Ferry server,
// so that every cell is measured against both.
//
// It listens on 127.0.0.1 on an OS-picked port and prints the port as the
// first line of stdout; everything else goes to stderr. It runs until killed.
//
// Environment:
//   PING_INTERVAL, PING_TIMEOUT, UPGRADE_TIMEOUT  ms (socket.io defaults)
//   MAX_PAYLOAD   bytes (maxHttpBufferSize), default 1e6
//   BUNDLE        path of Ferry's browser bundle, served at /matrix/ferry.min.js
//   RECOVERY      "1" turns on connectionStateRecovery (its defaults); "down"
//                 numbers are then emitted while the client is away too, and
//                 kept for replay
//
// The app (msgpack parser), per client id (the auth payload's id, kept
// across reconnections):
//   connection      emits "welcome"
//   up n            records n; the first one starts "down" 0, 1, 2, ... every
//                   TICK_MS (default 100) to the client's current socket; a
//                   number emitted while the client is not connected is lost
//                   (unless RECOVERY keeps it); the first client's first one
//                   prints "exchanging" on stdout
//   big buffer      emits "big-back" with a buffer of the same length
//   report, ack     stops "down" and acks {up: [numbers received], down: count emitted},
//                   then emits "end" (after every "down", for clients that hand
//                   events to handlers later than acks)
// GET /matrix/ serves a blank page that loads the bundle, for Chromium.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

const env = process.env;
const tick = Number(env.TICK_MS || 100);
const bundle = env.BUNDLE ? readFileSync(env.BUNDLE) : null;
const page = `<!doctype html><meta charset="utf-8"><title>matrix</title><script src="/matrix/ferry.min.js"></script>`;

const httpServer = createServer((req, res) => {
  if (req.url === "/matrix/") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page);
  } else if (req.url === "/matrix/ferry.min.js" && bundle) {
    res.writeHead(200, { "content-type": "text/javascript; charset=utf-8" });
    res.end(bundle);
  } else {
    res.writeHead(404);
    res.end();
  }
});
const opts = { parser: msgpackParser, maxHttpBufferSize: Number(env.MAX_PAYLOAD || 1e6) };
if (env.PING_INTERVAL) opts.pingInterval = Number(env.PING_INTERVAL);
if (env.PING_TIMEOUT) opts.pingTimeout = Number(env.PING_TIMEOUT);
if (env.UPGRADE_TIMEOUT) opts.upgradeTimeout = Number(env.UPGRADE_TIMEOUT);
const recovery = env.RECOVERY === "1";
if (recovery) opts.connectionStateRecovery = {};
const io = new Server(httpServer, opts);

const clients = new Map();
let exchanging = false;
io.on("connection", (socket) => {
  const id = socket.handshake.auth?.id ?? socket.id;
  let c = clients.get(id);
  if (!c) {
    c = { down: 0, up: [], timer: null, socket: null, stopped: false };
    clients.set(id, c);
  }
  c.socket = socket;
  console.error(`matrix-server: ${id} (${socket.id}) connected, recovered: ${socket.recovered}`);
  socket.emit("welcome", socket.id);
  socket.on("up", (n) => {
    c.up.push(n);
    if (!c.timer && !c.stopped) {
      if (!exchanging) console.log("exchanging");
      exchanging = true;
      c.timer = setInterval(() => {
        const n = c.down++;
        if (recovery || c.socket?.connected) c.socket.emit("down", n);
      }, tick);
    }
  });
  socket.on("big", (buf) => socket.emit("big-back", Buffer.alloc(buf.length ?? buf.byteLength, 7)));
  socket.on("report", (ack) => {
    clearInterval(c.timer);
    c.stopped = true;
    ack({ up: c.up, down: c.down });
    socket.emit("end");
  });
  socket.on("disconnect", (reason) => console.error(`matrix-server: ${id} disconnected: ${reason}`));
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(httpServer.address().port);
});
