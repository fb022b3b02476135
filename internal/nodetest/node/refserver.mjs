// Reference Socket.IO server (socket.io 4.8.4) for the Go client's tests.
//
// It listens on 127.0.0.1 on an OS-picked port and prints the port as the
// first line of stdout; everything else goes to stderr. It runs until killed.
//
// Environment:
//   PARSER         "msgpack" (default) or "json"
//   PING_INTERVAL  ms, default 25000
//   PING_TIMEOUT   ms, default 20000
//   MAX_PAYLOAD    bytes (maxHttpBufferSize), default 1e6
//   RECOVERY       ms: turns connection state recovery on, with this
//                  maxDisconnectionDuration (middleware skipped for a
//                  recovered socket); unset or 0: off
//
// The test app, on namespaces "/" and "/admin" (the latter behind a
// middleware that refuses auth {token: "bad"} with data):
//   connection        emits "welcome" with the socket id
//   echo ...args      acks with args when asked, else emits "echo" ...args
//   ask ...args, ack  emits "question" ...args to the client with an ack
//                     (2 s timeout) and acks {answer: [...]} or {error}
//   auth, ack         acks with the CONNECT auth payload
//   recovered, ack    acks with socket.recovered (true when the socket was
//                     restored by connection state recovery)
//   transport, ack    acks with the Engine.IO transport name
//   event-ids, ack    acks with the ack ids of the EVENT packets received
//                     on this namespace, as seen on the wire (null if none)
//   join room, ack    joins room, then acks
//   to-room room, event, ...args, ack   emits event to room, then acks
//   count-room room, ack                acks with the number of sockets in room
//   burst n           emits "seq" 0..n-1
//   seq i             records i;  seq-result, ack: acks with the record
//   disconnect-me close               socket.disconnect(close)
//   kill              closes the Engine.IO connection (transport close)
//   silence           the server stops sending anything, pings included
//   garbage           sends a text message no Socket.IO parser accepts
//   ignore            does nothing, even when an ack is asked for
import { createServer } from "node:http";
import { Server } from "socket.io";
import * as jsonParser from "socket.io-parser";
import msgpackParser from "socket.io-msgpack-parser";

const useMsgpack = (process.env.PARSER || "msgpack") === "msgpack";
const wireParser = useMsgpack ? msgpackParser : jsonParser;

const httpServer = createServer();
const io = new Server(httpServer, {
  parser: useMsgpack ? msgpackParser : undefined,
  pingInterval: Number(process.env.PING_INTERVAL || 25000),
  pingTimeout: Number(process.env.PING_TIMEOUT || 20000),
  maxHttpBufferSize: Number(process.env.MAX_PAYLOAD || 1e6),
  connectionStateRecovery: Number(process.env.RECOVERY || 0) > 0
    ? { maxDisconnectionDuration: Number(process.env.RECOVERY), skipMiddlewares: true }
    : undefined,
});

// Decode every inbound Engine.IO message a second time, to see the ack ids
// exactly as they came over the wire.
io.engine.on("connection", (conn) => {
  conn.eventIds = new Map(); // nsp -> [id|null]
  const decoder = new wireParser.Decoder();
  decoder.on("decoded", (p) => {
    if (p.type === 2 || p.type === 5) {
      if (!conn.eventIds.has(p.nsp)) conn.eventIds.set(p.nsp, []);
      conn.eventIds.get(p.nsp).push(p.id === undefined ? null : p.id);
    }
  });
  conn.on("message", (data) => {
    try {
      decoder.add(data);
    } catch (err) {
      console.error("refserver: wire decoder:", err.message);
    }
  });
});

function takeAck(args) {
  return typeof args.at(-1) === "function" ? args.pop() : null;
}

function setup(nsp) {
  nsp.on("connection", (socket) => {
    socket.data.seq = [];
    socket.emit("welcome", socket.id);

    socket.on("echo", (...args) => {
      const ack = takeAck(args);
      if (ack) ack(...args);
      else socket.emit("echo", ...args);
    });
    socket.on("ask", (...args) => {
      const ack = takeAck(args);
      socket.timeout(2000).emit("question", ...args, (err, ...answer) => {
        if (ack) ack(err ? { error: err.message } : { answer });
      });
    });
    socket.on("auth", (ack) => ack(socket.handshake.auth));
    socket.on("recovered", (ack) => ack(socket.recovered));
    socket.on("transport", (ack) => ack(socket.conn.transport.name));
    socket.on("event-ids", (ack) => ack(socket.conn.eventIds.get(nsp.name) || []));
    socket.on("join", (room, ack) => {
      socket.join(room);
      ack();
    });
    socket.on("to-room", (room, event, ...args) => {
      const ack = takeAck(args);
      nsp.to(room).emit(event, ...args);
      if (ack) ack();
    });
    socket.on("count-room", async (room, ack) => {
      ack((await nsp.in(room).fetchSockets()).length);
    });
    socket.on("burst", (n) => {
      for (let i = 0; i < n; i++) socket.emit("seq", i);
    });
    socket.on("seq", (i) => socket.data.seq.push(i));
    socket.on("seq-result", (ack) => ack(socket.data.seq));
    socket.on("disconnect-me", (close) => socket.disconnect(Boolean(close)));
    socket.on("kill", () => socket.conn.close());
    socket.on("silence", () => {
      const conn = socket.conn;
      clearTimeout(conn.pingIntervalTimer);
      clearTimeout(conn.pingTimeoutTimer);
      conn.schedulePing = () => {};
      conn.resetPingTimeout = () => {};
      conn.sendPacket = () => {};
    });
    socket.on("garbage", () => socket.conn.send("\u0000not a socket.io packet"));
    socket.on("ignore", () => {});
  });
}

setup(io.of("/"));
const admin = io.of("/admin");
admin.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "bad") {
    const err = new Error("not authorized");
    err.data = { reason: "bad token", code: 42 };
    next(err);
    return;
  }
  next();
});
setup(admin);

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${httpServer.address().port}\n`);
});
