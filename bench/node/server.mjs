// The Node side of Ferry's benchmark: socket.io 4.8.4 with
// socket.io-msgpack-parser (or, with the arguments "-parser json",
// socket.io's default JSON parser), running the same application as
// bench/cmd/ferryserver. It listens on 127.0.0.1 with an OS-picked port,
// prints the port as the first line of stdout, and runs until SIGTERM or
// SIGINT.
//
//   "echo" arg            acks arg back
//   "join" room           joins room, then acks
//   "fanout" room m size  broadcasts m "tick" events to room, each carrying
//                         the send time (Unix microseconds) and a string of
//                         size bytes, then acks m
//   "paced" room m size intervalUs
//                         acks the time the first of m "tick" events to
//                         room is due (Unix microseconds, one interval from
//                         now), then broadcasts them one every intervalUs
//                         microseconds, each carrying the time it was due
//                         and a string of size bytes
//
// With the argument "-deflate", WebSocket compression is on
// (perMessageDeflate: true, socket.io's threshold of 1024 bytes and the
// zlib defaults of the ws package). "-ping-interval=MS" sets pingInterval
// in milliseconds (default 25000).
//
// GET /stats returns {"rss","heap_used"} from process.memoryUsage(); with
// ?gc=1 it first runs a full garbage collection (when node runs with
// --expose-gc).
import { createServer } from "node:http";
import { performance } from "node:perf_hooks";
import { Server } from "socket.io";
import parser from "socket.io-msgpack-parser";

const http = createServer((req, res) => {
  if (req.url === "/stats" || req.url === "/stats?gc=1") {
    if (req.url.endsWith("gc=1") && typeof globalThis.gc === "function") globalThis.gc();
    const m = process.memoryUsage();
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ rss: m.rss, heap_used: m.heapUsed }));
    return;
  }
  res.writeHead(404);
  res.end();
});

// "-parser json" picks socket.io's default parser, socket.io-parser.
const args = process.argv.slice(2);
const at = args.indexOf("-parser");
const parserName = at >= 0 ? args[at + 1] : "msgpack";
if (parserName !== "msgpack" && parserName !== "json") {
  process.stderr.write(`server.mjs: -parser ${parserName}: want msgpack or json\n`);
  process.exit(2);
}

// socket.io's defaults (both transports, upgrades, pingInterval 25s,
// maxHttpBufferSize 1e6, no per-message deflate) except the parser and
// the bundled client, which Ferry's server does not need either.
const perMessageDeflate = args.includes("-deflate");
const pingArg = args.find((a) => a.startsWith("-ping-interval="));
const pingInterval = pingArg ? Number(pingArg.slice("-ping-interval=".length)) : 25000;
const io = new Server(http, {
  ...(parserName === "msgpack" ? { parser } : {}),
  serveClient: false,
  perMessageDeflate,
  pingInterval,
});

// Wall-clock time in microseconds, with sub-millisecond resolution.
const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

io.on("connection", (socket) => {
  socket.on("echo", (arg, ack) => {
    if (typeof ack === "function") ack(arg);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack();
  });
  socket.on("fanout", (room, m, size, ack) => {
    const payload = "x".repeat(size);
    const to = io.to(room);
    for (let i = 0; i < m; i++) to.emit("tick", nowMicros(), payload);
    if (typeof ack === "function") ack(m);
  });
  socket.on("paced", (room, m, size, intervalUs, ack) => {
    const payload = "x".repeat(size);
    const to = io.to(room);
    const start = nowMicros() + intervalUs;
    if (typeof ack === "function") ack(start);
    // The i-th tick is due at start + i*intervalUs and carries that time;
    // one that falls behind is sent at once. Node's timers count whole
    // milliseconds: the wait is rounded up, so that no tick leaves early.
    let i = 0;
    const next = () => {
      while (i < m) {
        const due = start + i * intervalUs;
        const wait = due - nowMicros();
        if (wait > 0) {
          setTimeout(next, Math.ceil(wait / 1000));
          return;
        }
        to.emit("tick", due, payload);
        i++;
      }
    };
    next();
  });
});

http.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${http.address().port}\n`);
});

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
