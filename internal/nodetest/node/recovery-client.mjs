// Drives socket.io-client 4.x through connection state recovery against a
// Ferry server running the app in recovery_clientjs_test.go (repository
// root), which refuses new Engine.IO sessions while its gate is shut.
//
// Usage: node recovery-client.mjs <url> <msgpack|json> <polling|websocket|upgrade> <scenario>
//
// Client A joins a room; client B sends "msg" events to that room and to A
// alone (Socket.Emit on the server). A's connection is then lost with the
// gate shut, B sends more, the gate opens, and A reconnects. Scenarios:
//   forced-close  A received events; the server closes A's connection
//   engine-close  A received events; A closes its Engine.IO connection
//   no-event      A received no event before the server closed it
//   too-many      as forced-close, with more missed events than the
//                 server's MaxMissedPackets (3): A gets a fresh session
// A must see socket.recovered and socket.id as the scenario expects, and
// every event meant for it once, in order. Prints "all checks passed";
// exits non-zero with the failed check on stderr.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [url, parserName, mode, scenario] = process.argv.slice(2);
const transports = mode === "upgrade" ? ["polling", "websocket"] : [mode];
const base = {
  transports,
  upgrade: mode === "upgrade",
  forceNew: true,
  reconnectionDelay: 50,
  reconnectionDelayMax: 200,
  randomizationFactor: 0,
};
if (parserName === "msgpack") base.parser = msgpackParser;
const LIMIT = 10_000; // ms for any one step

const step = (name) => console.log("ok -", name);
const within = (ms, what, p) =>
  Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms))]);
const once = (em, ev) => within(LIMIT, ev, new Promise((res) => em.once(ev, (...a) => res(a))));
const ack = (s, ...args) => within(LIMIT, `ack of ${args[0]}`, s.emitWithAck(...args));

// until resolves once check() holds, re-checked on each "msg" event of s.
function until(s, what, check) {
  if (check()) return Promise.resolve();
  return within(
    LIMIT,
    what,
    new Promise((res) => {
      const f = () => {
        if (check()) {
          s.off("msg", f);
          res();
        }
      };
      s.on("msg", f);
    }),
  );
}

async function main() {
  const a = io(url, { ...base, auth: { token: "a" } });
  const got = []; // A's "msg" texts, in order
  a.on("msg", (text, offset, ...rest) => {
    assert.equal(typeof offset, "string", `"${text}" carries an offset as its last argument`);
    assert.deepEqual(rest, [], `"${text}" has no argument after the offset`);
    got.push(text);
  });
  await once(a, "connect");
  assert.equal(a.recovered, false, "a first connection is not recovered");
  const id = a.id;
  assert.equal(await ack(a, "join", "room"), true);

  const b = io(url, { ...base, auth: { token: "b" } });
  await once(b, "connect");
  const expected = [];
  if (scenario !== "no-event") {
    assert.equal(await ack(b, "to-room", { room: "room", text: "before 1" }), true);
    assert.equal(await ack(b, "direct", { id, text: "before 2" }), true);
    expected.push("before 1", "before 2");
    await until(a, "the events before the drop", () => got.length === 2);
    assert.deepEqual(got, expected);
  }
  if (mode === "upgrade" && a.io.engine.transport.name !== "websocket") {
    await once(a.io.engine, "upgrade");
  }
  step(`A connected${scenario === "no-event" ? "" : " and received 2 events"} over ${a.io.engine.transport.name}`);

  const disconnected = once(a, "disconnect");
  if (scenario === "engine-close") {
    assert.equal(await ack(a, "shut"), true);
    a.io.engine.close();
  } else {
    a.emit("drop");
  }
  const [reason] = await disconnected;
  assert.ok(a.active, `A reconnects after "${reason}"`);
  assert.equal(await ack(b, "gone", id), true, "the server saw A leave");
  step(`A lost its connection: ${reason}`);

  const missed = scenario === "too-many" ? 4 : 2;
  for (let i = 1; i <= missed; i++) {
    assert.equal(await ack(b, "to-room", { room: "room", text: `missed ${i}` }), true);
  }
  assert.equal(await ack(b, "direct", { id, text: "missed direct" }), true);
  const connected = once(a, "connect");
  assert.equal(await ack(b, "open"), true);
  await connected;

  if (scenario === "too-many") {
    assert.equal(a.recovered, false, "more missed than MaxMissedPackets: a fresh session");
    assert.notEqual(a.id, id, "a fresh session has a new id");
    assert.equal(await ack(a, "recovered"), false);
    // A fresh socket is in no room: only what is sent to it now arrives.
    assert.equal(await ack(b, "direct", { id: a.id, text: "after" }), true);
    expected.push("after");
  } else {
    assert.equal(a.recovered, true, "recovered");
    assert.equal(a.id, id, "the same socket id");
    assert.equal(await ack(a, "recovered"), true, "the server restored the socket");
    for (let i = 1; i <= missed; i++) expected.push(`missed ${i}`);
    expected.push("missed direct");
    assert.equal(await ack(b, "to-room", { room: "room", text: "after" }), true);
    expected.push("after");
  }
  await until(a, `"after"`, () => got.includes("after"));
  assert.deepEqual(got, expected, "every event meant for A, once, in order");
  step(`A reconnected: recovered=${a.recovered}, ${got.length} events: ${got.join(", ")}`);

  a.disconnect();
  b.disconnect();
  console.log("all checks passed");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
