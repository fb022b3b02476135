// Checks the chat example's events (examples/chat/chatserver) with the
// official socket.io-client and socket.io-msgpack-parser: input
// validation, join and presence, messages and their acks, the volatile
// typing broadcast, room switching, renaming, history and the room list.
// alice uses long-polling only, bob WebSocket only, carol and dave start on
// polling and upgrade.
//
// Usage: node chat-protocol.mjs <chat URL> (a fresh server: no one else
// connected). Exits non-zero with the failed check on stderr.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node chat-protocol.mjs <chat URL>");
  process.exit(2);
}
const LIMIT_MS = 3000;
const step = (name) => console.log("ok -", name);

// connect opens a client that records every event it receives, so a check
// can wait for an event that may already have arrived.
function connect(name, transports) {
  const socket = io(url, { transports, parser: msgpackParser, forceNew: true, reconnection: false });
  const inbox = [];
  const waiters = new Set();
  socket.onAny((event, ...args) => {
    inbox.push({ event, args });
    for (const w of waiters) w();
  });
  const client = {
    name,
    socket,
    inbox,
    // next resolves with the args of the first event named `event` that
    // arrives after mark (an inbox index) and satisfies pred.
    next(event, pred = () => true, mark = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (let i = mark; i < inbox.length; i++) {
            const e = inbox[i];
            if (e.event === event && pred(...e.args)) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(e.args);
              return true;
            }
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${name}: no "${event}" matching ${pred} within ${LIMIT_MS} ms; got ${JSON.stringify(inbox.slice(mark))}`));
        }, LIMIT_MS);
        if (!check()) waiters.add(check);
      });
    },
    mark: () => inbox.length,
    call: (event, arg) => socket.timeout(LIMIT_MS).emitWithAck(event, arg),
  };
  return client;
}

async function connected(client) {
  if (client.socket.connected) return;
  await new Promise((resolve, reject) => {
    client.socket.once("connect", resolve);
    client.socket.once("connect_error", reject);
  });
}

const names = (members) => members.map((m) => m.nick);
const roomCount = (rooms, name) => rooms.find((r) => r.name === name)?.count;

const clients = [];
try {
  const alice = connect("alice", ["polling"]);
  const bob = connect("bob", ["websocket"]);
  clients.push(alice, bob);
  await Promise.all([connected(alice), connected(bob)]);
  assert.equal(alice.socket.io.engine.transport.name, "polling");
  assert.equal(bob.socket.io.engine.transport.name, "websocket");
  const [rooms] = await alice.next("rooms");
  assert.deepEqual(rooms, [
    { name: "general", count: 0 },
    { name: "random", count: 0 },
  ]);
  step("a new client gets the room list");

  // Bad input: every refusal is an ack carrying {error}, and nothing else
  // happens.
  assert.deepEqual(await alice.call("message", { text: "too early" }), { error: "join a room first" });
  const refusals = [
    [{ nick: "", room: "general" }, /nickname is empty/],
    [{ nick: "   ", room: "general" }, /nickname is empty/],
    [{ nick: "x".repeat(25), room: "general" }, /nickname is too long: 25 characters, at most 24/],
    [{ nick: "bell\u0007", room: "general" }, /nickname holds a control character/],
    [{ nick: "alice", room: "a/b" }, /room name may hold only letters, digits/],
    [{ nick: "alice", room: "r".repeat(33) }, /room name is too long/],
    [{ nick: "alice" }, /room name is empty/],
    [{ nick: 42, room: "general" }, /.+/],
    ["not an object", /.+/],
  ];
  for (const [arg, want] of refusals) {
    const reply = await alice.call("join", arg);
    assert.equal(typeof reply?.error, "string", `join ${JSON.stringify(arg)} should be refused, got ${JSON.stringify(reply)}`);
    assert.match(reply.error, want, `join ${JSON.stringify(arg)}`);
  }
  assert.deepEqual(await alice.call("message", { text: "still not joined" }), { error: "join a room first" });
  step("bad nicknames, room names and events before joining are refused");

  // alice joins; names are trimmed and normalised.
  let mark = alice.mark();
  const aj = await alice.call("join", { nick: "  alice ", room: " #General " });
  assert.equal(aj.error, undefined, JSON.stringify(aj));
  assert.equal(aj.id, alice.socket.id);
  assert.equal(aj.nick, "alice");
  assert.equal(aj.room, "general");
  assert.deepEqual(aj.members, [{ id: alice.socket.id, nick: "alice" }]);
  assert.deepEqual(aj.history, []);
  assert.equal(roomCount(aj.rooms, "general"), 1);
  await alice.next("presence", (p) => p.joined?.nick === "alice", mark);
  step("join trims the nickname and normalises the room name");

  // bob joins: alice is told, with the full member list.
  mark = alice.mark();
  const bj = await bob.call("join", { nick: "bob", room: "general" });
  assert.deepEqual(names(bj.members), ["alice", "bob"]);
  const [pj] = await alice.next("presence", (p) => p.joined?.nick === "bob", mark);
  assert.equal(pj.room, "general");
  assert.deepEqual(pj.joined, { id: bob.socket.id, nick: "bob" });
  assert.deepEqual(names(pj.members), ["alice", "bob"]);
  assert.equal(pj.left, undefined);
  const [rj] = await alice.next("rooms", (r) => roomCount(r, "general") === 2, mark);
  assert.equal(roomCount(rj, "random"), 0);
  step("presence and room counts follow a join");

  // Messages: trimmed, acked with id and time, relayed to the others only.
  mark = bob.mark();
  const before = Date.now();
  const ack = await alice.call("message", { text: "  hi bob  " });
  assert.ok(Number.isInteger(ack.id) && ack.id > 0, JSON.stringify(ack));
  assert.ok(ack.time >= before - 1000 && ack.time <= Date.now() + 1000, `ack time ${ack.time}`);
  const [m1] = await bob.next("message", () => true, mark);
  assert.deepEqual(m1, { id: ack.id, room: "general", from: alice.socket.id, nick: "alice", text: "hi bob", time: ack.time });
  const long = "é".repeat(500);
  const ackLong = await alice.call("message", { text: long });
  assert.ok(ackLong.id > ack.id);
  await bob.next("message", (m) => m.text === long, mark);
  assert.match((await alice.call("message", { text: "é".repeat(501) })).error, /message is too long: 501 characters, at most 500/);
  assert.match((await alice.call("message", { text: " \n " })).error, /message is empty/);
  const multi = await bob.call("message", { text: "two\nlines" });
  assert.equal(multi.error, undefined);
  await alice.next("message", (m) => m.text === "two\nlines" && m.nick === "bob");
  step("messages are acked, relayed to the room, and checked");

  // Typing: relayed to the others as it changes.
  mark = alice.mark();
  bob.socket.emit("typing", true);
  const [t1] = await alice.next("typing", (t) => t.typing, mark);
  assert.deepEqual(t1, { id: bob.socket.id, nick: "bob", typing: true });
  bob.socket.emit("typing", false);
  await alice.next("typing", (t) => !t.typing && t.nick === "bob", mark);
  step("typing is broadcast to the room");

  // carol (polling, then upgrade) joins and gets the history.
  const carol = connect("carol", ["polling", "websocket"]);
  clients.push(carol);
  await connected(carol);
  const cj = await carol.call("join", { nick: "carol", room: "general" });
  assert.deepEqual(
    cj.history.map((m) => m.text),
    ["hi bob", long, "two\nlines"],
  );
  assert.deepEqual(names(cj.members), ["alice", "bob", "carol"]);
  step("a newcomer gets the room's history");

  // bob switches to random: general is told he left, random that he came.
  mark = alice.mark();
  const cmark = carol.mark();
  const br = await bob.call("join", { nick: "bob", room: "random" });
  assert.deepEqual(names(br.members), ["bob"]);
  assert.deepEqual(br.history, []);
  const [pl] = await alice.next("presence", (p) => p.left?.nick === "bob", mark);
  assert.deepEqual(names(pl.members), ["alice", "carol"]);
  await carol.next("presence", (p) => p.left?.nick === "bob", cmark);
  const [rr] = await alice.next("rooms", (r) => roomCount(r, "random") === 1, mark);
  assert.equal(roomCount(rr, "general"), 2);
  // bob no longer hears general.
  const bmark = bob.mark();
  await alice.call("message", { text: "bob is gone" });
  await carol.next("message", (m) => m.text === "bob is gone", cmark);
  const bobRandom = await bob.call("message", { text: "anyone in random?" });
  assert.equal(bobRandom.error, undefined);
  await bob.call("join", { nick: "bob", room: "random" }); // a round trip: anything sent to bob before has arrived
  assert.deepEqual(
    bob.inbox.slice(bmark).filter((e) => e.event === "message"),
    [],
    "bob heard general after leaving it",
  );
  assert.ok(!alice.inbox.some((e) => e.event === "message" && e.args[0].text === "anyone in random?"), "alice heard random");
  assert.ok(!alice.inbox.some((e) => e.event === "message" && e.args[0].from === alice.socket.id), "alice got her own message back");
  step("switching rooms moves presence and messages");

  // Renaming in place.
  mark = alice.mark();
  const rename = await carol.call("join", { nick: "caroline", room: "general" });
  assert.equal(rename.nick, "caroline");
  const [pr] = await alice.next("presence", (p) => names(p.members).includes("caroline"), mark);
  assert.equal(pr.joined, undefined);
  assert.equal(pr.left, undefined);
  assert.deepEqual(names(pr.members), ["alice", "caroline"]);
  step("joining the same room with a new nickname renames");

  // A new room exists while someone is in it.
  mark = alice.mark();
  const team = await bob.call("join", { nick: "bob", room: "Team Blue" });
  assert.equal(team.room, "team-blue");
  await alice.next("rooms", (r) => roomCount(r, "team-blue") === 1, mark);
  await alice.next("rooms", (r) => roomCount(r, "random") === 0, mark);

  // Disconnecting leaves the room: presence, and the room list.
  mark = alice.mark();
  bob.socket.disconnect();
  carol.socket.disconnect();
  const [gone] = await alice.next("presence", (p) => p.left?.nick === "caroline", mark);
  assert.deepEqual(names(gone.members), ["alice"]);
  const [rl] = await alice.next("rooms", (r) => roomCount(r, "general") === 1 && !r.some((x) => x.name === "team-blue"), mark);
  assert.deepEqual(
    rl.map((r) => r.name),
    ["general", "random"],
  );
  step("disconnecting updates presence; an empty room disappears");

  // History keeps the last 50 messages.
  for (let i = 0; i < 55; i++) {
    const a = await alice.call("message", { text: `m${i}` });
    assert.equal(a.error, undefined);
  }
  const dave = connect("dave", ["polling", "websocket"]);
  clients.push(dave);
  await connected(dave);
  const dj = await dave.call("join", { nick: "dave", room: "general" });
  assert.equal(dj.history.length, 50);
  assert.equal(dj.history[0].text, "m5");
  assert.equal(dj.history[49].text, "m54");
  assert.ok(dj.history.every((m, i) => i === 0 || m.id > dj.history[i - 1].id), "history in order");
  step("history keeps the last 50 messages");
} finally {
  for (const c of clients) c.socket.disconnect();
}
