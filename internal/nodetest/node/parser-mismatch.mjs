// Connects the official socket.io-client 4.x, with the given parser, to a
// Ferry server using the other one (mismatch_test.go, repository root).
// Usage:
//   node parser-mismatch.mjs <url> <client parser: msgpack|json> <transports, comma-separated>
// Checks that the client gets connect_error, with the server's message, and
// does not try again; prints the message. Exits non-zero, with the failed
// check on stderr, otherwise.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [url, parserName, transportList] = process.argv.slice(2);
const opts = {
  transports: transportList.split(","),
  forceNew: true,
  reconnectionDelay: 50,
  reconnectionDelayMax: 100,
};
if (parserName === "msgpack") opts.parser = msgpackParser;

const within = (ms, what, p) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms))]);

async function main() {
  const socket = io(url, opts);
  const manager = socket.io;
  let connected = false;
  socket.on("connect", () => (connected = true));
  // The manager closes once its last socket is destroyed; register first.
  const closed = new Promise((res) => manager.once("close", (reason) => res(reason)));
  const err = await within(5000, "connect_error", new Promise((res) => socket.once("connect_error", res)));
  assert.equal(connected, false, "never connected");
  assert.equal(socket.active, false, "a socket refused with connect_error is not retried");
  const reason = await within(5000, "the manager's close", closed);
  assert.equal(reason, "forced close");
  // Manager.onclose calls reconnect() right after emitting "close", unless
  // skipReconnect is set; by the next turn, a retry would be scheduled.
  await new Promise((res) => setImmediate(res));
  assert.equal(manager.skipReconnect, true, "the manager does not reconnect");
  assert.equal(manager._reconnecting, false, "no reconnection scheduled");
  console.log(JSON.stringify({ message: err.message }));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e.stack || String(e));
    process.exit(1);
  },
);
