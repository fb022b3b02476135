// Runs two chat clients (examples/chat) through a reverse proxy and checks
// where their transport ends up: "websocket" when the proxy forwards
// upgrades, "polling" when it does not (the upgrade probe fails and the
// session stays on long-polling). Either way messages must flow both ways,
// before and after the upgrade attempt.
//
// Usage: node proxy-chat.mjs <proxy URL> <websocket|polling>
// Prints a JSON summary; exits non-zero with the failed check on stderr.
import assert from "node:assert/strict";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [url, expected] = process.argv.slice(2);
if (!url || !["websocket", "polling"].includes(expected)) {
  console.error("usage: node proxy-chat.mjs <proxy URL> <websocket|polling>");
  process.exit(2);
}
const LIMIT_MS = 5000;

function within(what, promise) {
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${LIMIT_MS} ms waiting for ${what}`)), LIMIT_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

// open connects with socket.io-client's defaults (polling first, then an
// upgrade attempt) and resolves once connected, with a promise that settles
// when the upgrade succeeds ("upgrade") or fails ("upgradeError").
async function open(name) {
  const socket = io(url, { parser: msgpackParser, forceNew: true, reconnection: false });
  let openedOn;
  const upgrade = new Promise((resolve) => {
    socket.io.on("open", () => {
      const engine = socket.io.engine;
      openedOn = engine.transport.name;
      engine.once("upgrade", () => resolve("websocket"));
      engine.once("upgradeError", (err) => resolve(`polling (${err.message})`));
    });
  });
  await within(`${name} to connect`, new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  }));
  assert.equal(openedOn, "polling", `${name} opens on long-polling`);
  return { name, socket, upgrade };
}

// exchange sends text from one client and waits for the other to get it.
async function exchange(from, to, text) {
  const got = within(`${to.name} to receive ${JSON.stringify(text)}`, new Promise((resolve) => {
    const on = (msg) => {
      if (msg.text === text) {
        to.socket.off("message", on);
        resolve(msg);
      }
    };
    to.socket.on("message", on);
  }));
  const ack = await within(`the ack of ${JSON.stringify(text)}`, from.socket.emitWithAck("message", { text }));
  assert.equal(ack.error, undefined, JSON.stringify(ack));
  const msg = await got;
  assert.equal(msg.nick, from.name);
  assert.equal(msg.id, ack.id);
}

const clients = [];
try {
  const alice = await open("alice");
  const bob = await open("bob");
  clients.push(alice, bob);
  for (const c of clients) {
    const reply = await within(`${c.name} to join`, c.socket.emitWithAck("join", { nick: c.name, room: "proxied" }));
    assert.equal(reply.error, undefined, JSON.stringify(reply));
  }
  await exchange(alice, bob, "early, from alice");
  await exchange(bob, alice, "early, from bob");

  const outcomes = await within("the upgrade attempts", Promise.all(clients.map((c) => c.upgrade)));
  for (const [i, c] of clients.entries()) {
    const transport = c.socket.io.engine.transport.name;
    assert.equal(transport, expected, `${c.name}'s transport after the upgrade attempt: ${outcomes[i]}`);
  }

  await exchange(alice, bob, "late, from alice");
  await exchange(bob, alice, "late, from bob");
  console.log(JSON.stringify({ transports: clients.map((c) => c.socket.io.engine.transport.name), upgrade: outcomes }));
} finally {
  for (const c of clients) c.socket.disconnect();
}
