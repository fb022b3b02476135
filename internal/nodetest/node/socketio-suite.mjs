// Drives the official socket.io-client 4.x against a Ferry server running
// the app in interop_test.go (repository root). Usage:
//   node socketio-suite.mjs <url> <msgpack|json> <transports, comma-separated>
// Exits non-zero, with the failed check on stderr, on any mismatch.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [url, parserName, transportList] = process.argv.slice(2);
const transports = transportList.split(",");
const base = { transports, forceNew: true, reconnectionDelay: 50, reconnectionDelayMax: 100 };
if (parserName === "msgpack") base.parser = msgpackParser;

const step = (name) => console.log("ok -", name);
const within = (ms, what, p) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms))]);
const once = (em, ev, ms = 3000) => within(ms, ev, new Promise((res) => em.once(ev, (...a) => res(a))));
const bytes = (b) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b);

// Binary arrives as Buffer (Node) or ArrayBuffer; compare as Buffers.
function normalise(v) {
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return bytes(v);
  if (Array.isArray(v)) return v.map(normalise);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}

async function main() {
  // 1. Connect to "/" with auth; the connection handler's emit follows at once.
  const s1 = io(url, { ...base, auth: { token: "ok" } });
  const [hello] = await Promise.all([once(s1, "hello"), once(s1, "connect")]);
  assert.deepEqual(hello, [1, "two", { a: [true, null] }, { token: "ok" }]);
  assert.ok(s1.id && s1.id.length > 0, "socket id set");
  step("connect / with auth, hello received");

  // 2. Acks from the client: the first ack id is 0; all arguments come back.
  const bin = Buffer.from([1, 2, 3, 255]);
  const ackArgs = await within(3000, "ack-me", new Promise((res) => s1.emit("ack-me", "a", 1, bin, (...a) => res(a))));
  assert.deepEqual(normalise(ackArgs), ["a", 1, bin]);
  step("ack from server with all arguments (binary included)");

  // 3. Events both ways: strings, numbers, nested objects, binary.
  const payload = ["str", 42, -7, 3.5, { nested: { arr: [1, "x", null, false] }, empty: {} }, bin, [bin, { deep: bin }]];
  for (const ev of ["echo", "echo-decoded"]) {
    const got = once(s1, ev);
    s1.emit(ev, ...payload);
    assert.deepEqual(normalise(await got), normalise(payload), ev);
  }
  step("events both ways, relayed and decoded");

  // 4. timeout().emitWithAck with no ack from the server rejects.
  await assert.rejects(s1.timeout(150).emitWithAck("nobody-acks", 1), /operation has timed out/);
  step("timeout().emitWithAck rejects");

  // 5. Server asks the client for an ack.
  s1.on("question", (n, cb) => cb(n + 1));
  const answer = once(s1, "answer");
  s1.emit("server-ack");
  assert.deepEqual(await answer, [43]);
  step("server EmitWithAck to client");

  // 6. Rooms and broadcast (a second connection).
  const s2 = io(url, { ...base, auth: { token: "ok" } });
  await once(s2, "connect");
  assert.deepEqual(await s1.emitWithAck("join", "r1"), "r1");
  assert.deepEqual(await s2.emitWithAck("join", "r1"), "r1");
  const s1msgs = [];
  s1.on("room-message", (m) => s1msgs.push(m));
  const s2got = once(s2, "room-message");
  s1.emit("to-room", { room: "r1", text: "from s1" });
  assert.deepEqual(await s2got, ["from s1"]);
  const marker = once(s1, "room-message");
  s2.emit("to-room", { room: "r1", text: "marker" });
  await marker;
  assert.deepEqual(s1msgs, ["marker"], "sender is excluded from its own room broadcast");
  step("rooms: to(room) reaches others, not the sender");

  // 7. Except: s1 in r2 is left out, s2 gets it.
  await s1.emitWithAck("join", "r2");
  let s1except = 0;
  s1.on("except-message", () => s1except++);
  const s2except = once(s2, "except-message");
  s2.emit("all-except", "r2");
  assert.deepEqual(await s2except, ["r2"]);
  const marker2 = once(s1, "room-message");
  s2.emit("to-room", { room: "r2", text: "marker2" });
  await marker2;
  assert.equal(s1except, 0, "socket in the excepted room got the broadcast");
  step("broadcast with except");

  // 8. Custom namespace multiplexed over s1's connection, middleware rejection.
  // Manager.socket() connects at once (autoConnect); calling connect() as
  // well would send a second CONNECT, which closes the connection.
  const admin = s1.io.socket("/admin", { auth: { token: "ok" } });
  const [adminHello] = await Promise.all([once(admin, "hello"), once(admin, "connect")]);
  assert.deepEqual(adminHello[3], { token: "ok" });
  const bad = io(url + "/admin", { ...base, auth: { token: "bad" }, reconnection: false });
  const [err] = await once(bad, "connect_error");
  assert.equal(err.message, "not authorized");
  assert.deepEqual(err.data, { reason: "demo" });
  bad.close();
  const nope = io(url + "/nope", { ...base, reconnection: false });
  const [nerr] = await once(nope, "connect_error");
  assert.equal(nerr.message, "Invalid namespace");
  nope.close();
  const dyn = io(url + "/dyn-7", { ...base });
  assert.deepEqual(await once(dyn, "dynamic"), ["/dyn-7"]);
  dyn.close();
  step("custom, invalid and dynamic namespaces; middleware connect_error with data");

  // 9. Client disconnects one namespace; the connection stays up for the other.
  admin.disconnect();
  const afterAdmin = once(s1, "echo");
  s1.emit("echo", "still here");
  assert.deepEqual(await afterAdmin, ["still here"]);
  step("client namespace disconnect keeps the connection");

  // 10. Server disconnects s2: no reconnection.
  const s2gone = once(s2, "disconnect");
  s2.emit("disconnect-me");
  assert.equal((await s2gone)[0], "io server disconnect");
  assert.equal(s2.active, false);
  step("server disconnect");

  // 11. The server closes s1's transport: the client reconnects on its own.
  if (transports.length > 1) {
    if (s1.io.engine.transport.name !== "websocket") await once(s1.io.engine, "upgrade");
    assert.equal(s1.io.engine.transport.name, "websocket");
    step("upgraded to websocket");
  }
  const s1gone = once(s1, "disconnect");
  s1.emit("close-transport");
  assert.equal((await s1gone)[0], "transport close");
  await once(s1, "connect", 5000);
  const again = once(s1, "echo");
  s1.emit("echo", "after reconnect");
  assert.deepEqual(await again, ["after reconnect"]);
  step("reconnect after the server closed the transport");

  s1.close();
  s2.close();
  console.log("all checks passed");
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  },
);
