// Connection state recovery in the chat example (examples/chat), in
// headless Chromium: two pages, alice on long-polling only and bob upgraded
// to WebSocket, each reach the chat through a TCP proxy of its own that the
// Go test cuts (dropping every connection and refusing new ones) and
// restores on request. While they are cut, for 5 s, two other clients
// connected straight to the server post numbered messages, more than the
// room's history of 50 keeps. Once they are restored, each page must show
// that it recovered its session, and every message exactly once, in order.
//
// Usage: node chat-recovery.mjs <alice's proxy URL> <bob's proxy URL> <server URL> <control URL> <artifacts dir>
// The control URL answers GET /cut/<page> and GET /restore/<page>.
// Chromium comes from the machine: CHROMIUM_PATH, default /usr/bin/chromium.
// Prints a JSON summary on stdout; exits non-zero with the reason on failure.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const [aliceURL, bobURL, serverURL, controlURL, artifacts] = process.argv.slice(2);
if (!aliceURL || !bobURL || !serverURL || !controlURL || !artifacts) {
  console.error("usage: node chat-recovery.mjs <alice's proxy URL> <bob's proxy URL> <server URL> <control URL> <artifacts dir>");
  process.exit(2);
}
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const LIMIT_MS = 15_000; // per step; generous for a loaded machine
const OUTAGE_MS = 5_000;
const MISSED = 80; // posted during the outage, alternately by the two posters
const started = Date.now();
// step logs progress on stderr, which the Go test shows when it fails.
const step = (what) => console.error(`${String(Date.now() - started).padStart(6)} ms  ${what}`);
// within bounds p in time; its timer does not outlive it.
function within(ms, what, p) {
  let timer;
  const timeout = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
const sleepUntil = (t) => new Promise((res) => setTimeout(res, Math.max(0, t - Date.now())));

if (!existsSync(chromiumPath)) {
  console.error(`no Chromium at ${chromiumPath}: run make deps`);
  process.exit(1);
}
mkdirSync(artifacts, { recursive: true });

async function control(what) {
  const res = await within(LIMIT_MS, `control ${what}`, fetch(`${controlURL}/${what}`));
  assert.equal(res.status, 204, `control ${what}`);
}

// poster is a socket.io-client connected straight to the server, joined to
// general, that records the presence lists it receives.
async function poster(nick) {
  const socket = io(serverURL, { parser: msgpackParser, forceNew: true, transports: ["websocket"] });
  await within(LIMIT_MS, `${nick} connects`, new Promise((res, rej) => {
    socket.once("connect", res);
    socket.once("connect_error", rej);
  }));
  const p = { nick, socket, members: [] };
  socket.on("presence", (pr) => {
    if (pr.room === "general") p.members = pr.members.map((m) => m.nick);
  });
  const reply = await socket.timeout(LIMIT_MS).emitWithAck("join", { nick, room: "general" });
  assert.equal(reply.error, undefined, `${nick} joins`);
  p.members = reply.members.map((m) => m.nick);
  // post sends a message and waits for the server's ack.
  p.post = async (text) => {
    const ack = await socket.timeout(LIMIT_MS).emitWithAck("message", { text });
    assert.equal(ack.error, undefined, `${nick} posts "${text}": ${ack.error}`);
  };
  // until resolves once the presence list satisfies check.
  p.until = async (what, check) => {
    let f;
    try {
      await within(LIMIT_MS, `${nick} sees ${what}`, new Promise((res) => {
        f = () => {
          if (check(p.members)) res();
        };
        socket.on("presence", f);
        f();
      }));
    } catch (err) {
      err.message += ` (members: ${p.members.join(", ")})`;
      throw err;
    } finally {
      socket.off("presence", f);
    }
  };
  return p;
}

step("launching Chromium");
const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  timeout: LIMIT_MS * 2,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});

// Page errors fail the test; console errors are expected while the proxy
// is cut (failed requests), so they are only logged.
const problems = [];
const posters = [];

async function open(name, pageURL, query) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: "en-GB", timezoneId: "UTC" });
  const page = await context.newPage();
  page.setDefaultTimeout(LIMIT_MS);
  page.on("pageerror", (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") step(`${name}: console: ${msg.text()}`);
  });
  const response = await page.goto(`${pageURL}/${query}`);
  assert.equal(response?.status(), 200, `${name}: GET /${query}`);
  await page.locator("#room-options option").first().waitFor({ state: "attached" });
  await page.locator("#nick").fill(name);
  await page.locator("#room").fill("general");
  await page.locator("#login-button").click();
  await page.locator("#login").waitFor({ state: "hidden" });
  await page.locator("#text:enabled").waitFor();
  return page;
}

// texts returns the texts of the messages a page shows, in order.
const texts = (page) =>
  page.locator("#messages .msg .text > span:first-child").evaluateAll((spans) => spans.map((s) => s.textContent));

try {
  step("alice (long-polling) and bob (upgrading) open the page through the proxy");
  const pages = [
    { name: "alice", page: await open("alice", aliceURL, "?transport=polling") },
    { name: "bob", page: await open("bob", bobURL, "") },
  ];
  await pages[1].page.locator('#transport[data-transport="websocket"]').waitFor();
  await pages[0].page.locator('#transport[data-transport="polling"]').waitFor();

  step("two posters join general straight on the server");
  posters.push(await poster("poster-1"), await poster("poster-2"));
  const [p1, p2] = posters;
  await p1.until("alice and bob", (m) => m.includes("alice") && m.includes("bob"));

  const expected = [];
  for (const [p, text] of [[p1, "before 1"], [p2, "before 2"]]) {
    await p.post(text);
    expected.push(text);
  }
  for (const { name, page } of pages) {
    await page.waitForFunction((n) => document.querySelectorAll("#messages .msg").length === n, expected.length);
    assert.deepEqual(await texts(page), expected, `${name} before the outage`);
  }

  // alice's proxy goes first, and bob's once the server has seen alice
  // leave (her socket left the room's presence): were bob's departure
  // broadcast while alice's connection drops, her parked long-poll could
  // be answered into the void, and the server would take a ping timeout to
  // notice she is gone.
  step("cutting alice's proxy");
  await control("cut/alice");
  await p1.until("alice leave", (m) => !m.includes("alice"));
  step("cutting bob's proxy");
  const cutAt = Date.now(); // both are cut from here on
  await control("cut/bob");
  await p1.until("bob leave", (m) => !m.includes("bob"));
  for (const { name, page } of pages) {
    await page.locator('#status[data-state="offline"]').waitFor();
    step(`${name} is offline`);
  }
  step("the server saw both pages leave: what is posted now is missed for certain");
  for (let i = 1; i <= MISSED; i++) {
    await sleepUntil(cutAt + ((OUTAGE_MS - 500) * (i - 1)) / MISSED);
    const text = `missed ${String(i).padStart(2, "0")}`;
    await (i % 2 === 1 ? p1 : p2).post(text);
    expected.push(text);
  }
  await sleepUntil(cutAt + OUTAGE_MS);
  for (const { name, page } of pages) {
    assert.equal(await page.locator("#status").getAttribute("data-state"), "offline", `${name} stayed offline during the outage`);
  }
  await control("restore/alice");
  await control("restore/bob");
  const cutMs = Date.now() - cutAt;
  step(`restored the proxies after ${cutMs} ms`);

  for (const { name, page } of pages) {
    await page.locator('#status[data-state="online"][data-session]').waitFor();
    const session = await page.locator("#status").getAttribute("data-session");
    assert.equal(session, "recovered", `${name} recovered its session`);
    await page.locator("#messages .system", { hasText: `${MISSED} messages received while offline` }).waitFor();
    step(`${name} is back: ${session}`);
  }
  await p1.until("alice and bob back", (m) => m.includes("alice") && m.includes("bob"));
  await p2.post("after 1");
  expected.push("after 1");
  const summary = { posted: MISSED, cutMs, pages: [], screenshot: "chat-recovered.png" };
  for (const { name, page } of pages) {
    await page.waitForFunction((n) => document.querySelectorAll("#messages .msg").length >= n, expected.length);
    const shown = await texts(page);
    assert.deepEqual(shown, expected, `${name} shows every message once, in order`);
    summary.pages.push({
      name,
      transport: await page.locator("#transport").textContent(),
      session: await page.locator("#status").getAttribute("data-session"),
      messages: shown.length,
    });
  }
  await pages[1].page.screenshot({ path: join(artifacts, summary.screenshot) });

  step("done");
  assert.deepEqual(problems, []);
  console.log(JSON.stringify(summary));
} finally {
  for (const p of posters) p.socket.disconnect();
  await browser.close();
}
