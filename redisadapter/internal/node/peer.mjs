// A Node socket.io 4.8 server on @socket.io/redis-adapter (or
// @socket.io/redis-streams-adapter), with official socket.io-client clients
// connected to it and to the Ferry servers, and an @socket.io/redis-emitter:
// the Node side of redisadapter's interop tests, driven by the Go test over
// stdin and stdout, one JSON object a line.
//
// Environment:
//   REDIS_URL     redis://127.0.0.1:PORT
//   MODE          classic | sharded | streams
//   SUBSCRIPTION  sharded subscription mode (static, dynamic, dynamic-private)
//   NODE_PARSER   json | msgpack: the Node server's parser
//   FERRY         JSON list of {"name", "url", "parser"}: Ferry servers to
//                 connect one client each to
//   STREAM_COUNT  streams: the adapter's streamCount (default 1)
//   RECOVERY_MS   if set, connectionStateRecovery with this
//                 maxDisconnectionDuration
//   NAMESPACES    JSON list of the namespaces the Node server serves
//                 (default ["/"])
//
// Out: {"type":"ready","clients":{name: sid}} once every client is
// connected; {"type":"event","client":name,"event":ev,"args":[...]} for
// every event a client receives; {"type":"sse","event":ev,"args":[...]}
// for every server-side event the Node server receives;
// {"type":"disconnect","client":name,"reason":r}; and
// {"type":"reply","id":n,...} for each command. Binary values are written
// as {"$bin": hex}.
//
// In: {"id": n, "op": ..., ...}; see the ops below.

import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { Server } from "socket.io";
import { io as connect } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";

const mode = process.env.MODE || "classic";
const redisURL = process.env.REDIS_URL;
const ferry = JSON.parse(process.env.FERRY || "[]") || [];
const nodeParser = process.env.NODE_PARSER || "json";
const recoveryMS = Number(process.env.RECOVERY_MS || 0);
const namespaces = JSON.parse(process.env.NAMESPACES || '["/"]');

function out(obj) {
  process.stdout.write(JSON.stringify(obj, (k, v) => {
    if (v && v.type === "Buffer" && Array.isArray(v.data)) {
      return { $bin: Buffer.from(v.data).toString("hex") };
    }
    return v;
  }) + "\n");
}

const pub = createClient({ url: redisURL });
const sub = pub.duplicate();
const emitterClient = pub.duplicate();
for (const c of [pub, sub, emitterClient]) {
  c.on("error", () => {}); // reconnects by itself
}
await Promise.all([pub.connect(), sub.connect(), emitterClient.connect()]);

const adapters = {
  classic: () => createAdapter(pub, sub),
  sharded: () => createShardedAdapter(pub, sub, { subscriptionMode: process.env.SUBSCRIPTION || "dynamic" }),
  streams: () => createStreamsAdapter(pub, { streamCount: Number(process.env.STREAM_COUNT || 1) }),
};
const httpServer = createServer();
const io = new Server(httpServer, {
  adapter: adapters[mode](),
  ...(nodeParser === "msgpack" ? { parser: msgpackParser } : {}),
  ...(recoveryMS ? { connectionStateRecovery: { maxDisconnectionDuration: recoveryMS, skipMiddlewares: true } } : {}),
});
const emitter = new Emitter(emitterClient);

for (const name of namespaces) {
  io.of(name).on("connection", (socket) => {
    socket.data = { lang: "node", n: 1 };
  });
}
io.on("hello", (...args) => {
  const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
  out({ type: "sse", event: "hello", args });
  if (ack) ack(`node says ${args[0]}`);
});

await new Promise((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
const port = httpServer.address().port;

// Clients: one on the Node server, one on each Ferry server.
const targets = [{ name: "node", url: `http://127.0.0.1:${port}`, parser: nodeParser }, ...ferry];
const clients = {};
await Promise.all(targets.map((t) => new Promise((resolve, reject) => {
  const c = connect(t.url, {
    reconnection: false,
    ...(t.parser === "msgpack" ? { parser: msgpackParser } : {}),
  });
  track(t.name, c);
  c.once("connect", () => resolve());
  c.once("connect_error", reject);
  clients[t.name] = c;
})));
out({ type: "ready", port, clients: Object.fromEntries(Object.entries(clients).map(([k, c]) => [k, c.id])) });

// select applies {to, except, volatile, local} to a broadcast operator.
function select(op, cmd) {
  if (cmd.to && cmd.to.length) op = op.to(cmd.to);
  if (cmd.except && cmd.except.length) op = op.except(cmd.except);
  if (cmd.volatile) op = op.volatile;
  if (cmd.local) op = op.local;
  return op;
}

// track reports what a client receives, and when it disconnects.
function track(name, c) {
  c.onAny((event, ...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    out({ type: "event", client: name, event, args });
    if (ack) ack({ from: name, got: args[0] });
  });
  c.on("disconnect", (reason) => out({ type: "disconnect", client: name, reason }));
}

// connected waits for c's next connection: its id and whether it recovered.
function connected(c) {
  return new Promise((resolve) => {
    const ok = () => { c.off("connect_error", bad); resolve({ sid: c.id, recovered: c.recovered, pid: c._pid }); };
    const bad = (err) => { c.off("connect", ok); resolve({ error: String(err) }); };
    c.once("connect", ok);
    c.once("connect_error", bad);
  });
}

// decode turns {"$bin": hex} back into Buffers.
function decode(v) {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === "object") {
    if (typeof v.$bin === "string") return Buffer.from(v.$bin, "hex");
    if (typeof v.$date === "number") return new Date(v.$date);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}

const ops = {
  async emit(cmd) {
    select(io.of(cmd.nsp || "/"), cmd).emit(cmd.event, ...decode(cmd.args || []));
    return {};
  },
  // A client of namespace nsp on the server at url, which loses its
  // connection with kill and comes back, maybe elsewhere, with reconnect.
  async open(cmd) {
    const nsp = cmd.nsp && cmd.nsp !== "/" ? cmd.nsp : "";
    const c = connect(cmd.url + nsp, {
      reconnection: false,
      forceNew: true,
      ...(cmd.transports ? { transports: cmd.transports } : {}),
      ...(cmd.parser === "msgpack" ? { parser: msgpackParser } : {}),
    });
    clients[cmd.client] = c;
    track(cmd.client, c);
    return connected(c);
  },
  async kill(cmd) {
    const c = clients[cmd.client];
    const gone = new Promise((resolve) => c.once("disconnect", resolve));
    c.io.engine.close();
    const reason = await gone;
    return { reason, offset: c._lastOffset ?? null, pid: c._pid ?? null };
  },
  async reconnect(cmd) {
    const c = clients[cmd.client];
    c.io.uri = cmd.url;
    const result = connected(c);
    c.connect();
    return result;
  },
  async close(cmd) {
    clients[cmd.client].disconnect();
    return {};
  },
  async socketEmit(cmd) {
    const s = io.of(cmd.nsp || "/").sockets.get(cmd.sid);
    if (!s) return { error: "no socket " + cmd.sid };
    s.emit(cmd.event, ...decode(cmd.args || []));
    return {};
  },
  async join(cmd) {
    const s = io.of(cmd.nsp || "/").sockets.get(cmd.sid);
    if (!s) return { error: "no socket " + cmd.sid };
    s.join(cmd.rooms);
    return {};
  },
  async setData(cmd) {
    const s = io.of(cmd.nsp || "/").sockets.get(cmd.sid);
    if (!s) return { error: "no socket " + cmd.sid };
    s.data = cmd.data;
    return {};
  },
  async emitWithAck(cmd) {
    try {
      const acks = await select(io.of("/"), cmd).timeout(cmd.timeout || 3000).emitWithAck(cmd.event, ...decode(cmd.args || []));
      return { acks };
    } catch (err) {
      return { error: String(err) };
    }
  },
  async fetch(cmd) {
    const sockets = await select(io.of("/"), cmd).fetchSockets();
    return {
      sockets: sockets.map((s) => ({
        id: s.id, rooms: [...s.rooms], data: s.data,
        url: s.handshake.url, address: s.handshake.address, issued: s.handshake.issued,
        query: s.handshake.query, headers: s.handshake.headers, auth: s.handshake.auth,
      })),
    };
  },
  async socketsJoin(cmd) { select(io.of("/"), cmd).socketsJoin(cmd.rooms); return {}; },
  async socketsLeave(cmd) { select(io.of("/"), cmd).socketsLeave(cmd.rooms); return {}; },
  async disconnectSockets(cmd) { select(io.of("/"), cmd).disconnectSockets(!!cmd.close); return {}; },
  async serverSideEmit(cmd) {
    if (!cmd.ack) {
      io.serverSideEmit(cmd.event, ...decode(cmd.args || []));
      return {};
    }
    try {
      const acks = await io.serverSideEmitWithAck(cmd.event, ...decode(cmd.args || []));
      return { acks };
    } catch (err) {
      return { error: String(err) };
    }
  },
  async serverCount() { return { count: await io.of("/").adapter.serverCount() }; },
  async allRooms() { return { rooms: [...(await io.of("/").adapter.allRooms())] }; },
  async localRooms(cmd) {
    const s = io.of(cmd.nsp || "/").sockets.get(cmd.sid);
    return { rooms: s ? [...s.rooms] : null, data: s ? s.data : null };
  },
  async emitter(cmd) {
    let e = emitter.of(cmd.nsp || "/");
    if (cmd.to && cmd.to.length) e = e.to(cmd.to);
    if (cmd.except && cmd.except.length) e = e.except(cmd.except);
    if (cmd.volatile) e = e.volatile;
    switch (cmd.action) {
      case "emit": e.emit(cmd.event, ...decode(cmd.args || [])); break;
      case "socketsJoin": e.socketsJoin(cmd.rooms); break;
      case "socketsLeave": e.socketsLeave(cmd.rooms); break;
      case "disconnectSockets": e.disconnectSockets(!!cmd.close); break;
      case "serverSideEmit": e.serverSideEmit(cmd.event, ...decode(cmd.args || [])); break;
    }
    return {};
  },
  async clientEmit(cmd) {
    clients[cmd.client].emit(cmd.event, ...decode(cmd.args || []));
    return {};
  },
};

const rl = createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  const cmd = JSON.parse(line);
  try {
    out({ type: "reply", id: cmd.id, ...(await ops[cmd.op](cmd)) });
  } catch (err) {
    out({ type: "reply", id: cmd.id, error: String(err && err.stack || err) });
  }
});
rl.on("close", async () => {
  for (const c of Object.values(clients)) c.disconnect();
  io.close();
  await Promise.allSettled([pub.quit(), sub.quit(), emitterClient.quit()]);
  process.exit(0);
});
