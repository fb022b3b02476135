// The reference that protocol.mjs is calibrated against: socket.io 4.8
// instrumented by @socket.io/admin-ui 0.5.1, serving the same app as
// adminui's Go tests ("hello" answered with "world", "rooms" acknowledged
// with the socket's rooms, sorted). Listens on 127.0.0.1 at a free port,
// which it prints as "listening <port>"; exits when its standard input
// closes.
//
// Environment: PARSER ("json" or "msgpack"), USERNAME, PASSWORD_HASH (a
// bcrypt hash), SERVER_ID.

import { createServer } from "node:http";
import { Server } from "socket.io";
import { instrument } from "@socket.io/admin-ui";
import msgpackParser from "socket.io-msgpack-parser";

const { PARSER, USERNAME, PASSWORD_HASH, SERVER_ID } = process.env;

const httpServer = createServer();
const io = new Server(httpServer, {
  parser: PARSER === "msgpack" ? msgpackParser : undefined,
});
io.on("connection", (socket) => {
  socket.on("hello", () => socket.emit("world", "back"));
  socket.on("rooms", (ack) => ack([...socket.rooms].sort()));
});
instrument(io, {
  auth: { type: "basic", username: USERNAME, password: PASSWORD_HASH },
  serverId: SERVER_ID,
  mode: "development",
});

httpServer.listen(0, "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
