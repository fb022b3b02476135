// The Node side of Ferry's cluster benchmark (bench/run-cluster): socket.io
// 4.8.4 with socket.io-msgpack-parser on @socket.io/redis-adapter 8.3.0
// (createAdapter, Redis pub/sub) with the redis 4.7.1 client, running the
// same application as bench/cmd/ferrycluster. Two of them share one Redis.
//
//   node clusterserver.mjs <redis host:port>
//
// It listens on 127.0.0.1 with an OS-picked port, prints the port as the
// first line of stdout once its Redis connections are up, and runs until
// SIGTERM or SIGINT.
//
//   "join" room           joins room, then acks
//   "fanout" room m size  broadcasts m "tick" events to room, on every
//                         server, each carrying the send time (Unix
//                         microseconds) and a string of size bytes, then
//                         acks m
//
// GET /stats returns {"rss","heap_used"} from process.memoryUsage().
import { createServer } from "node:http";
import { performance } from "node:perf_hooks";
import { createAdapter } from "@socket.io/redis-adapter";
import { createClient } from "redis";
import { Server } from "socket.io";
import parser from "socket.io-msgpack-parser";

const redisAddr = process.argv[2];
if (!redisAddr) {
  console.error("usage: node clusterserver.mjs <redis host:port>");
  process.exit(2);
}

const pub = createClient({ url: `redis://${redisAddr}` });
const sub = pub.duplicate();
for (const c of [pub, sub]) {
  c.on("error", (err) => console.error("redis:", err.message));
}
await Promise.all([pub.connect(), sub.connect()]);

const http = createServer((req, res) => {
  if (req.url === "/stats") {
    const m = process.memoryUsage();
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ rss: m.rss, heap_used: m.heapUsed }));
    return;
  }
  res.writeHead(404);
  res.end();
});

// As bench/node/server.mjs (socket.io's defaults but the parser, no
// bundled client), plus the Redis adapter with its defaults.
const io = new Server(http, { parser, serveClient: false, adapter: createAdapter(pub, sub) });

// Wall-clock time in microseconds, with sub-millisecond resolution.
const nowMicros = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

io.on("connection", (socket) => {
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
