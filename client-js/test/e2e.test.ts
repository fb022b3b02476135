// End-to-end: the built package (@ferryio/client → dist/index.js) against a
// live server.
//
// Server under test:
//   FERRY_URL       a server using the msgpack parser (a Ferry server)
//   FERRY_JSON_URL  a server using the JSON parser (for the `parser: "json"` case)
// When FERRY_URL is unset, the test starts Node socket.io servers itself on
// 127.0.0.1 (OS-picked ports): one with socket.io-msgpack-parser and one with
// the default parser. When FERRY_URL is set without FERRY_JSON_URL, the JSON
// case is skipped.
//
// Contract a server under test must implement on namespace "/":
//   "echo" (value, ack)      → ack(value): the same value back, binary included
//   "ask"  (question, ack)   → the server emits "question" (question, cb) to the
//                              client, waits for the client's answer, then ack(answer)
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import * as officialMsgpack from "socket.io-msgpack-parser";
import { Server } from "socket.io";
import { connect, onTransportChange, transportName, type FerryOptions, type FerrySocket } from "@ferryio/client";

interface ServerToClient {
  question: (question: string, answer: (reply: string) => void) => void;
}
interface ClientToServer {
  echo: (value: unknown, ack: (value: unknown) => void) => void;
  ask: (question: string, ack: (answer: string) => void) => void;
}
type TestSocket = FerrySocket<ServerToClient, ClientToServer>;

const LIMIT_MS = 5_000;

// within rejects if promise has not settled after LIMIT_MS: a bound on a
// broken connection, not a wait for something to happen.
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${LIMIT_MS} ms`)), LIMIT_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

interface TestServer {
  url: string;
  close(): Promise<void>;
}

async function startNodeServer(parser?: object): Promise<TestServer> {
  const http = createServer();
  const io = new Server(http, parser === undefined ? {} : { parser });
  io.on("connection", (socket) => {
    socket.on("echo", (value: unknown, ack: unknown) => {
      if (typeof ack === "function") {
        ack(value);
      }
    });
    socket.on("ask", async (question: string, ack: (answer: string) => void) => {
      const reply = (await socket.timeout(LIMIT_MS).emitWithAck("question", question)) as string;
      ack(reply);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  };
}

const sockets: TestSocket[] = [];

function open(url: string, opts?: FerryOptions): TestSocket {
  const socket = connect<ServerToClient, ClientToServer>(url, { reconnection: false, ...opts });
  sockets.push(socket);
  return socket;
}

async function connected(socket: TestSocket): Promise<void> {
  if (socket.connected) {
    return;
  }
  await within(
    new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    }),
    "connect",
  );
}

function bytesOf(value: unknown): number[] {
  if (value instanceof ArrayBuffer) {
    return [...new Uint8Array(value)];
  }
  if (ArrayBuffer.isView(value)) {
    return [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)];
  }
  assert.fail(`expected binary, got ${JSON.stringify(value)}`);
}

let msgpackURL = process.env.FERRY_URL ?? "";
let jsonURL = process.env.FERRY_JSON_URL ?? "";
const started: TestServer[] = [];

before(async () => {
  if (msgpackURL === "") {
    const msgpackServer = await startNodeServer(officialMsgpack);
    const jsonServer = await startNodeServer();
    started.push(msgpackServer, jsonServer);
    msgpackURL = msgpackServer.url;
    jsonURL = jsonServer.url;
  }
});

after(async () => {
  for (const socket of sockets) {
    socket.disconnect();
  }
  await Promise.all(started.map((s) => s.close()));
});

describe("e2e with the msgpack parser (default)", () => {
  it("connects and gets an ack for an echo", async () => {
    const socket = open(msgpackURL);
    await connected(socket);
    assert.equal(typeof socket.id, "string");
    const value = { text: "héllo", n: 42, f: 1.5, list: [true, null, "x"], nested: { deep: [1, 2] } };
    const back = await within(socket.timeout(LIMIT_MS).emitWithAck("echo", value), "echo ack");
    assert.deepEqual(back, value);
  });

  it("answers an event the server emits with an ack", async () => {
    const socket = open(msgpackURL);
    const asked: string[] = [];
    socket.on("question", (question, answer) => {
      asked.push(question);
      answer(question.toUpperCase());
    });
    await connected(socket);
    const answer = await within(socket.timeout(LIMIT_MS).emitWithAck("ask", "ready?"), "ask ack");
    assert.equal(answer, "READY?");
    assert.deepEqual(asked, ["ready?"]);
  });

  it("carries binary both ways, including a Uint8Array view", async () => {
    const socket = open(msgpackURL);
    await connected(socket);
    const view = new Uint8Array([9, 8, 7, 6, 5]).subarray(1, 3);
    const sent = { buf: Buffer.from([0, 1, 254, 255]), view, label: "bin" };
    const back = (await within(socket.timeout(LIMIT_MS).emitWithAck("echo", sent), "binary echo")) as Record<string, unknown>;
    assert.deepEqual(bytesOf(back.buf), [0, 1, 254, 255]);
    assert.deepEqual(bytesOf(back.view), [8, 7]);
    assert.equal(back.label, "bin");
  });

  it("starts on polling and reports the upgrade to websocket", async () => {
    const socket = open(msgpackURL);
    assert.equal(transportName(socket), "polling");
    const upgraded = new Promise<[string, string | undefined]>((resolve) => {
      onTransportChange(socket, (name, previous) => resolve([name, previous]));
    });
    assert.deepEqual(await within(upgraded, "upgrade"), ["websocket", "polling"]);
    assert.equal(transportName(socket), "websocket");
    const back = await within(socket.timeout(LIMIT_MS).emitWithAck("echo", "after upgrade"), "echo after upgrade");
    assert.equal(back, "after upgrade");
  });

  it("connects over websocket only with websocketOnly", async () => {
    const socket = open(msgpackURL, { websocketOnly: true });
    const changes: string[] = [];
    onTransportChange(socket, (name) => changes.push(name));
    assert.equal(transportName(socket), "websocket");
    await connected(socket);
    assert.equal(transportName(socket), "websocket");
    const back = await within(socket.timeout(LIMIT_MS).emitWithAck("echo", [1, "two"]), "echo over websocket");
    assert.deepEqual(back, [1, "two"]);
    assert.deepEqual(changes, [], "never on any other transport");
  });
});

describe("e2e with the JSON parser", () => {
  it("connects, acks both ways and carries binary with parser: json", async (t) => {
    if (jsonURL === "") {
      t.skip("FERRY_URL is set but FERRY_JSON_URL is not");
      return;
    }
    const socket = open(jsonURL, { parser: "json" });
    socket.on("question", (question, answer) => answer(`${question}!`));
    await connected(socket);
    const back = (await within(
      socket.timeout(LIMIT_MS).emitWithAck("echo", { text: "plain", bin: Buffer.from([1, 2, 3]) }),
      "json echo",
    )) as { text: string; bin: unknown };
    assert.equal(back.text, "plain");
    assert.deepEqual(bytesOf(back.bin), [1, 2, 3]);
    const answer = await within(socket.timeout(LIMIT_MS).emitWithAck("ask", "json"), "json ask");
    assert.equal(answer, "json!");
  });
});
