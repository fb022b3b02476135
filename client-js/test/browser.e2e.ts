// Browser end-to-end: dist/ferry.min.js in headless Chromium (driven by
// playwright-core) against a Node socket.io server with
// socket.io-msgpack-parser, on 127.0.0.1 with an OS-picked port. The same
// server serves the page and the bundle, so the page connects same-origin
// with ferry.connect(). Run with `npm run test:browser`.
//
// Chromium comes from the machine (Debian's chromium package): the path is
// CHROMIUM_PATH, default /usr/bin/chromium.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { Server } from "socket.io";
import * as officialMsgpack from "socket.io-msgpack-parser";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const LIMIT_MS = 10_000;

// describeValue tells how a value arrived at the server after msgpack
// decoding, so the test can see what the browser put on the wire.
function describeValue(value: unknown): string {
  if (Buffer.isBuffer(value)) {
    return `Buffer ${value.toString("hex")}`;
  }
  if (value instanceof ArrayBuffer) {
    return `ArrayBuffer ${Buffer.from(value).toString("hex")}`;
  }
  return JSON.stringify(value);
}

let url = "";
let close: () => Promise<void> = async () => undefined;
let browser: Browser | undefined;

before(async () => {
  const bundle = await readFile(join(root, "dist", "ferry.min.js"));
  const page = '<!doctype html><meta charset="utf-8"><title>ferry</title><script src="/ferry.min.js"></script>';
  const http = createServer((req, res) => {
    if (req.url === "/ferry.min.js") {
      res.writeHead(200, { "Content-Type": "application/javascript; charset=utf-8" }).end(bundle);
    } else if (req.url === "/") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" }).end(page);
    } else {
      res.writeHead(404).end();
    }
  });
  const io = new Server(http, { parser: officialMsgpack });
  io.on("connection", (socket) => {
    socket.on("echo", (value: unknown, ack: (v: unknown) => void) => ack(value));
    socket.on("inspect", (value: unknown, ack: (v: string) => void) => ack(describeValue(value)));
    socket.on("ask", async (question: string, ack: (answer: string) => void) => {
      ack((await socket.timeout(LIMIT_MS).emitWithAck("question", question)) as string);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  close = () => new Promise<void>((resolve) => io.close(() => resolve()));

  assert.ok(existsSync(chromiumPath), `no Chromium at ${chromiumPath}: install Debian's chromium (make deps) or set CHROMIUM_PATH`);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    timeout: LIMIT_MS,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser?.close();
  await close();
});

async function openPage(): Promise<{ page: Page; errors: string[] }> {
  assert.ok(browser);
  const page = await browser.newPage();
  page.setDefaultTimeout(LIMIT_MS);
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(`${url}/`);
  return { page, errors };
}

describe("ferry.min.js in Chromium", () => {
  it("connects, upgrades to websocket and exchanges events, acks and binary", async () => {
    const { page, errors } = await openPage();
    const result = await page.evaluate(async (limit) => {
      const f = (globalThis as any).ferry;
      const socket = f.connect({ reconnection: false });
      const badge: string[] = [f.transportName(socket)];
      const upgraded = new Promise<void>((resolve) => {
        f.onTransportChange(socket, (name: string, previous: string) => {
          badge.push(`${previous} → ${name}`);
          resolve();
        });
      });
      socket.on("question", (q: string, answer: (a: string) => void) => answer(`${q}!`));
      await new Promise((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      });
      await upgraded;
      const view = new Uint8Array([9, 8, 7, 6, 5]).subarray(1, 3);
      const seen: string = await socket.timeout(limit).emitWithAck("inspect", view);
      const echoed = await socket.timeout(limit).emitWithAck("echo", {
        view,
        buffer: new Uint8Array([1, 2, 3]).buffer,
        text: "héllo",
        list: [1, null, true],
      });
      const answer: string = await socket.timeout(limit).emitWithAck("ask", "browser");
      const result = {
        badge,
        transport: f.transportName(socket),
        seen,
        viewType: Object.prototype.toString.call(echoed.view),
        view: Array.from(new Uint8Array(echoed.view)),
        buffer: Array.from(new Uint8Array(echoed.buffer)),
        text: echoed.text,
        list: echoed.list,
        answer,
      };
      socket.disconnect();
      return result;
    }, LIMIT_MS);
    await page.close();

    assert.deepEqual(result.badge, ["polling", "polling → websocket"]);
    assert.equal(result.transport, "websocket");
    assert.equal(result.seen, "Buffer 0807", "a Uint8Array view travels as msgpack bin of its own bytes");
    assert.equal(result.viewType, "[object ArrayBuffer]");
    assert.deepEqual(result.view, [8, 7]);
    assert.deepEqual(result.buffer, [1, 2, 3]);
    assert.equal(result.text, "héllo");
    assert.deepEqual(result.list, [1, null, true]);
    assert.equal(result.answer, "browser!");
    assert.deepEqual(errors, []);
  });

  it("connects over websocket only", async () => {
    const { page, errors } = await openPage();
    const result = await page.evaluate(async (limit) => {
      const f = (globalThis as any).ferry;
      const socket = f.connect({ reconnection: false, websocketOnly: true });
      const first: string = f.transportName(socket);
      await new Promise((resolve, reject) => {
        socket.once("connect", resolve);
        socket.once("connect_error", reject);
      });
      const echoed = await socket.timeout(limit).emitWithAck("echo", "ws");
      const result = { first, now: f.transportName(socket), echoed };
      socket.disconnect();
      return result;
    }, LIMIT_MS);
    await page.close();
    assert.deepEqual(result, { first: "websocket", now: "websocket", echoed: "ws" });
    assert.deepEqual(errors, []);
  });
});
