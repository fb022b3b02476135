// The app of api-suite.mjs on socket.io 4.8 itself, to check that the
// suite's expectations are socket.io's. It listens on 127.0.0.1 on an
// OS-picked port, prints the port as the first line of stdout, and runs
// until killed. PARSER: "msgpack" (default) or "json".
import { createServer } from "node:http";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

const useMsgpack = (process.env.PARSER || "msgpack") === "msgpack";
const httpServer = createServer();
const io = new Server(httpServer, { parser: useMsgpack ? msgpackParser : undefined });

io.of("/admin");
io.on("connection", (socket) => {
  socket.on("marker", () => socket.emit("marker"));
  socket.once("hello-once", () => socket.emit("hi-once"));

  const counter = () => socket.emit("counted");
  socket.on("count", counter);
  socket.on("stop-counting", (ack) => {
    socket.off("count", counter);
    ack();
  });

  socket.onAny((event) => {
    if (event === "forbidden") socket.emit("seen-by-any", event);
  });
  socket.use(([event, ...args], next) => {
    if (event === "forbidden") return next(new Error("unauthorized event"));
    if (event === "ask-forbidden") {
      args[args.length - 1]({ error: "not allowed" });
      return next(new Error("not allowed"));
    }
    next();
  });
  socket.on("error", (err) => socket.emit("error", err.message));
  socket.on("forbidden", () => socket.emit("should-not-run"));
  socket.on("ask-forbidden", (ack) => ack("should-not-run"));

  socket.on("order", (item, ack) => {
    socket.timeout(2000).emit("confirm", item, (err, answer) => ack(err ? `error: ${err.message}` : `${item}: ${answer}`));
  });
  socket.on("order-unanswered", (ack) => {
    socket.timeout(100).emit("ignored", (err) => ack(err ? "timed out" : "answered"));
  });

  socket.on("join", (room, ack) => {
    socket.join(room);
    ack();
  });
  socket.on("counts", async (ack) => {
    ack({
      conns: io.engine.clientsCount,
      sockets: (await io.fetchSockets()).length,
      admin: (await io.of("/admin").fetchSockets()).length,
      red: (await io.in("red").fetchSockets()).length,
    });
  });
  socket.on("server-ops", async (ack) => {
    io.socketsJoin("everyone");
    io.in("everyone").emit("to-everyone", 1);
    const fetched = (await io.fetchSockets()).length;
    io.timeout(2000).emit("poll", (err, acks) => ack({ fetched, acks: acks.length }));
  });
  socket.on("disconnect-all", () => io.disconnectSockets());
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(httpServer.address().port);
});
