// The Admin UI's protocol, as the official socket.io-client sees it, against
// a server instrumented for the Admin UI: Ferry with adminui, or (to
// calibrate the checks) socket.io 4.8 with @socket.io/admin-ui 0.5.1, both
// serving the app of refserver.mjs ("hello" answered with "world", "rooms"
// acknowledged with the socket's rooms).
//
// Environment: URL (the server), PARSER ("json" or "msgpack"), USERNAME and
// PASSWORD (the right credentials), SERVER_ID. Exits non-zero, with the
// reason on stderr, when a check fails; every wait is bounded.

import assert from "node:assert/strict";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const { URL: url, PARSER, USERNAME, PASSWORD, SERVER_ID } = process.env;
const WAIT_MS = 8000;

const options = (extra) => ({
  forceNew: true,
  reconnection: false,
  parser: PARSER === "msgpack" ? msgpackParser : undefined,
  ...extra,
});

// recorder keeps every event a socket receives, from before it connects,
// so that a test can wait for one that may already have come.
function recorder(socket) {
  const seen = [];
  const waiters = [];
  socket.onAny((event, ...args) => {
    seen.push({ event, args });
    for (const w of [...waiters]) w();
  });
  return {
    // next resolves with the arguments of the first event named event,
    // not taken yet, for which match returns true.
    next(event, match = () => true, what = event) {
      return new Promise((resolve, reject) => {
        const look = () => {
          const i = seen.findIndex((e) => e.event === event && match(e.args));
          if (i < 0) return false;
          const [found] = seen.splice(i, 1);
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(look), 1);
          resolve(found.args);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(look), 1);
          reject(new Error(`no ${what} within ${WAIT_MS} ms; seen: ${JSON.stringify(seen.filter((e) => !e.event.startsWith("server_stats")))}`));
        }, WAIT_MS);
        waiters.push(look);
        look();
      });
    },
    // none checks that no event named event, matching, has come.
    none(event, match = () => true) {
      assert.equal(seen.some((e) => e.event === event && match(e.args)), false, `unexpected ${event}`);
    },
  };
}

function once(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${WAIT_MS} ms`)), WAIT_MS);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

// connected resolves once socket connects, or fails with its connect_error.
function connected(socket) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect within ${WAIT_MS} ms`)), WAIT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function refused(auth) {
  const socket = io(`${url}/admin`, options({ auth }));
  const [err] = await once(socket, "connect_error");
  socket.close();
  assert.equal(err.message, "invalid credentials", `auth ${JSON.stringify(auth)}`);
}

// isTime checks a timestamp: a Date (msgpack) or its ISO string (JSON).
function isTime(t, what) {
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  assert.ok(typeof t === "string" ? /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(t) : t instanceof Date, `${what}: ${t}`);
  assert.ok(Math.abs(Date.now() - ms) < 60000, `${what} is now: ${t}`);
}

function checkSocket(s, { id, nsp, query = {} }) {
  assert.equal(s.id, id);
  assert.equal(s.nsp, nsp);
  assert.equal(typeof s.clientId, "string");
  assert.equal(s.clientId.length, 12, `clientId ${s.clientId}`);
  assert.ok(["polling", "websocket"].includes(s.transport), `transport ${s.transport}`);
  assert.deepEqual(s.data, {});
  assert.ok(s.rooms.includes(id), `rooms ${s.rooms}`);
  const h = s.handshake;
  assert.equal(typeof h.address, "string");
  assert.ok(h.address.length > 0);
  assert.equal(typeof h.headers, "object");
  assert.ok(h.headers.host.startsWith("127.0.0.1:"), `host ${h.headers.host}`);
  assert.equal(h.query.EIO, "4");
  for (const [k, v] of Object.entries(query)) assert.equal(h.query[k], v, `query ${k}`);
  assert.equal(typeof h.issued, "number");
  assert.ok(Math.abs(Date.now() - h.issued) < 60000, `issued ${h.issued}`);
  assert.equal(h.secure, false);
  assert.equal(typeof h.time, "string");
  assert.ok(h.url.startsWith("/socket.io/?"), `url ${h.url}`);
  assert.equal(h.xdomain, false);
  assert.equal(Object.hasOwn(h, "auth"), false, "the auth payload is not shown");
}

const FEATURES = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"];

async function main() {
  await refused({ username: USERNAME, password: "wrong" });
  await refused({ username: "someone", password: PASSWORD });
  await refused(undefined);
  await refused({ sessionId: "not-a-session" });

  const admin = io(`${url}/admin`, options({ auth: { username: USERNAME, password: PASSWORD } }));
  const rec = recorder(admin);
  await connected(admin);
  const [sessionId] = await rec.next("session");
  assert.equal(typeof sessionId, "string");
  assert.ok(sessionId.length >= 16, `session id ${sessionId}`);
  const [config] = await rec.next("config");
  assert.deepEqual(config, { supportedFeatures: FEATURES });
  const [all] = await rec.next("all_sockets");
  assert.ok(Array.isArray(all));
  const self = all.find((s) => s.id === admin.id);
  assert.ok(self, "all_sockets lists the admin socket itself");
  checkSocket(self, { id: admin.id, nsp: "/admin" });

  const [stats] = await rec.next("server_stats");
  assert.equal(stats.serverId, SERVER_ID);
  assert.equal(typeof stats.hostname, "string");
  assert.ok(Number.isInteger(stats.pid) && stats.pid > 0, `pid ${stats.pid}`);
  assert.ok(typeof stats.uptime === "number" && stats.uptime >= 0, `uptime ${stats.uptime}`);
  assert.ok(stats.clientsCount >= 1, `clientsCount ${stats.clientsCount}`);
  assert.equal(typeof stats.pollingClientsCount, "number");
  assert.ok(Array.isArray(stats.aggregatedEvents));
  for (const e of stats.aggregatedEvents) {
    assert.equal(typeof e.timestamp, "number");
    assert.equal(e.timestamp % 1000, 0, "aggregated by second");
    assert.equal(typeof e.type, "string");
    assert.ok(Number.isInteger(e.count) && e.count > 0);
  }
  const adminStats = stats.namespaces.find((n) => n.name === "/admin");
  assert.deepEqual(adminStats, { name: "/admin", socketsCount: 1 });
  assert.ok(stats.namespaces.some((n) => n.name === "/"), "the main namespace is listed");

  // A client of the application: it is announced with its room.
  const user = io(url, options({ query: { foo: "bar" }, auth: { token: "kept secret" } }));
  const userEvents = recorder(user);
  await connected(user);
  const userId = user.id; // the client forgets it as it disconnects
  const [nsp, room, id, joinedAt] = await rec.next("room_joined", (a) => a[2] === user.id, "room_joined of the user");
  assert.deepEqual([nsp, room, id], ["/", user.id, user.id]);
  isTime(joinedAt, "room_joined time");
  const [described, connectedAt] = await rec.next("socket_connected", (a) => a[0].id === user.id);
  checkSocket(described, { id: user.id, nsp: "/", query: { foo: "bar" } });
  isTime(connectedAt, "socket_connected time");
  // It upgrades to WebSocket (socket.io-client's default): the UI hears of
  // it, unless the upgrade was over when the socket was described.
  if (described.transport === "polling") {
    const [updated] = await rec.next("socket_updated", (a) => a[0].id === userId);
    assert.deepEqual(updated, { id: userId, nsp: "/", transport: "websocket" });
  }
  assert.equal(described.clientId, user.io.engine.id.slice(0, 12), "the start of the connection's id");

  // Its rawConnection is counted in the stats that follow.
  for (;;) {
    const [s] = await rec.next("server_stats", () => true, "server_stats counting the connections");
    const conns = s.aggregatedEvents.filter((e) => e.type === "rawConnection").reduce((n, e) => n + e.count, 0);
    if (conns > 0) break;
  }

  // Events both ways.
  user.emit("hello", 1, { a: "b" });
  const [world] = await userEvents.next("world");
  assert.equal(world, "back");
  const received = await rec.next("event_received", (a) => a[1] === user.id && a[2][0] === "hello");
  assert.deepEqual(received.slice(0, 3), ["/", user.id, ["hello", 1, { a: "b" }]]);
  isTime(received[3], "event_received time");
  const sent = await rec.next("event_sent", (a) => a[1] === user.id && a[2][0] === "world");
  assert.deepEqual(sent.slice(0, 3), ["/", user.id, ["world", "back"]]);
  isTime(sent[3], "event_sent time");
  assert.deepEqual(await user.timeout(WAIT_MS).emitWithAck("rooms"), [user.id]);
  const acked = await rec.next("event_received", (a) => a[2][0] === "rooms");
  assert.deepEqual(acked[2], ["rooms"], "an ack callback is not shown");

  // The UI's actions: join and leave a room, for one socket (the filter is
  // its id) or for all.
  admin.emit("join", "/", "room1", user.id);
  assert.deepEqual((await rec.next("room_joined", (a) => a[1] === "room1")).slice(0, 3), ["/", "room1", user.id]);
  assert.deepEqual(await user.timeout(WAIT_MS).emitWithAck("rooms"), [user.id, "room1"].sort());
  admin.emit("leave", "/", "room1", user.id);
  assert.deepEqual((await rec.next("room_left", (a) => a[1] === "room1")).slice(0, 3), ["/", "room1", user.id]);
  assert.deepEqual(await user.timeout(WAIT_MS).emitWithAck("rooms"), [user.id]);

  const other = io(url, options());
  await connected(other);
  const otherId = other.id;
  admin.emit("join", "/", "team");
  const joinedTeam = [
    (await rec.next("room_joined", (a) => a[1] === "team"))[2],
    (await rec.next("room_joined", (a) => a[1] === "team"))[2],
  ].sort();
  assert.deepEqual(joinedTeam, [user.id, other.id].sort());
  admin.emit("emit", "/", "team", "pushed", 42);
  assert.deepEqual(await userEvents.next("pushed"), [42]);
  const pushed = await rec.next("event_sent", (a) => a[1] === user.id && a[2][0] === "pushed");
  assert.deepEqual(pushed[2], ["pushed", 42]);
  admin.emit("leave", "/", "team");
  await rec.next("room_left", (a) => a[1] === "team");
  await rec.next("room_left", (a) => a[1] === "team");

  // Disconnecting one socket.
  const userGone = once(user, "disconnect");
  admin.emit("_disconnect", "/", false, user.id);
  assert.deepEqual(await userGone, ["io server disconnect", undefined]);
  const [gNsp, gId, reason, goneAt] = await rec.next("socket_disconnected", (a) => a[1] === userId);
  assert.deepEqual([gNsp, gId, reason], ["/", userId, "server namespace disconnect"]);
  isTime(goneAt, "socket_disconnected time");
  await rec.next("room_left", (a) => a[2] === userId && a[1] === userId, "room_left of the user's own room");

  // Disconnecting a whole connection: a socket's client, by its filter.
  const otherGone = once(other, "disconnect");
  admin.emit("_disconnect", "/", true, otherId);
  const [otherReason] = await otherGone;
  const [, , serverReason] = await rec.next("socket_disconnected", (a) => a[1] === otherId);
  console.log(JSON.stringify({ closeClient: otherReason, closeServer: serverReason }));
  for (;;) {
    const [s] = await rec.next("server_stats", () => true, "server_stats counting the disconnections");
    if (s.aggregatedEvents.some((e) => e.type === "rawDisconnection")) {
      const e = s.aggregatedEvents.find((e) => e.type === "rawDisconnection");
      assert.equal(typeof e.subType, "string");
      break;
    }
  }

  // A UI reconnecting with its session id needs no credentials, and is
  // given no new session.
  const again = io(`${url}/admin`, options({ auth: { sessionId } }));
  const againEvents = recorder(again);
  await connected(again);
  await againEvents.next("config");
  againEvents.none("session");

  again.close();
  admin.close();
  user.close();
  other.close();
  console.log("ok");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
