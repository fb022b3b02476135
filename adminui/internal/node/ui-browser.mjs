// Drives socket.io's Admin UI (the package's ui/dist, served by the Go test)
// in headless Chromium against a Ferry server instrumented by adminui, with
// official socket.io-client clients of the server's app connected: the UI
// must list the server, the sockets and their rooms, show their events,
// make a socket join a room and disconnect another, which the clients and
// the server confirm.
//
// Environment: UI_URL (the UI), SERVER_URL (the Ferry server, another
// origin), NAMESPACE (the admin namespace), USERNAME, PASSWORD, SERVER_ID,
// ARTIFACTS (a folder for screenshots). The server's app uses the msgpack
// parser, joins every socket of "/" to "lobby", answers "hello" with
// "world" and acknowledges "rooms" with the socket's rooms; it also has
// the namespace "/chat".
// Chromium comes from the machine: CHROMIUM_PATH, default /usr/bin/chromium.
// Exits non-zero, with the reason on stderr, when a check fails.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const { UI_URL, SERVER_URL, NAMESPACE, USERNAME, PASSWORD, SERVER_ID, ARTIFACTS } = process.env;
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const LIMIT_MS = 15_000; // per step; generous for a loaded machine
const started = Date.now();
// step logs progress on stderr, which the Go test shows when it fails.
const step = (what) => console.error(`${String(Date.now() - started).padStart(6)} ms  ${what}`);

if (!existsSync(chromiumPath)) {
  console.error(`no Chromium at ${chromiumPath}: run make deps`);
  process.exit(1);
}
mkdirSync(ARTIFACTS, { recursive: true });

function client(nsp, query) {
  const socket = io(SERVER_URL + nsp, { forceNew: true, reconnection: false, parser: msgpackParser, query });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client ${nsp} did not connect`)), LIMIT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", reject);
  });
}

function once(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${LIMIT_MS} ms`)), LIMIT_MS);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

step("connecting the app's clients");
const alice = await client("/", { user: "alice" });
const bob = await client("/", { user: "bob" });
const carol = await client("/chat", { user: "carol" });
const [aliceId, bobId, carolId] = [alice.id, bob.id, carol.id];

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
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, locale: "en-GB", timezoneId: "UTC" });
  // The UI's page asks a font and an icon font from CDNs: this machine is
  // offline, and the test must not wait on them.
  await context.route(
    (u) => u.hostname !== "127.0.0.1",
    (route) => route.abort(),
  );
  const page = await context.newPage();
  page.setDefaultTimeout(LIMIT_MS);
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  const shot = (name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  step("filling the connection form");
  const response = await page.goto(`${UI_URL}/`);
  assert.equal(response?.status(), 200);
  await page.getByLabel("Server URL").fill(SERVER_URL);
  await page.getByLabel("Username").fill(USERNAME);
  await page.getByLabel("Password").fill("wrong password");
  await page.locator("label", { hasText: "Advanced options" }).click();
  await page.getByLabel("Admin namespace").fill(NAMESPACE);
  await page.getByLabel("Path").fill("/socket.io");
  await page.locator(".v-select", { hasText: "Parser" }).locator(".v-select__slot").click();
  await page.getByRole("option", { name: "MessagePack parser" }).click();
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByText("Invalid credentials").waitFor();
  step("wrong password refused");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Connect" }).click();
  await page.locator(".v-dialog--active").waitFor({ state: "detached" });
  step("connected");
  const sessionId = await page.evaluate(() => localStorage.getItem("session_id"));
  assert.match(sessionId ?? "", /^[0-9a-f]{32}$/, "the UI keeps the session id it was given");

  // Dashboard: the namespaces and their sockets.
  const namespaces = page.locator("tr", { has: page.locator("code") });
  await namespaces.filter({ hasText: "/chat" }).filter({ hasText: "1" }).waitFor();
  await namespaces.filter({ hasText: NAMESPACE }).waitFor();
  await shot("dashboard");

  step("servers");
  await page.locator('nav a[href="#/servers"]').click();
  const serverRow = page.locator("tr", { hasText: SERVER_ID });
  await serverRow.waitFor();
  await serverRow.getByText("Healthy").waitFor();
  await shot("servers");

  step("sockets of /");
  await page.locator('nav a[href="#/sockets"]').click();
  await page.locator("tr", { hasText: aliceId }).waitFor();
  await page.locator("tr", { hasText: bobId }).waitFor();
  assert.equal(await page.locator("tr", { hasText: carolId }).count(), 0, "/chat's socket is not listed under /");
  step("a socket connecting is listed as it connects");
  const dave = await client("/", { user: "dave" });
  const daveId = dave.id;
  await page.locator("tr", { hasText: daveId }).waitFor();
  await shot("sockets");

  step("clients");
  await page.locator('nav a[href="#/clients"]').click();
  for (const c of [alice, bob, carol]) {
    await page.locator(".v-data-table tr", { hasText: c.io.engine.id.slice(0, 12) }).waitFor();
  }
  await shot("clients");

  step("rooms of /");
  await page.locator('nav a[href="#/rooms"]').click();
  const lobby = page.locator("tr", { hasText: "lobby" });
  await lobby.waitFor();
  await lobby.locator("td", { hasText: /^\s*3\s*$/ }).waitFor();
  await shot("rooms");

  step("events of /");
  alice.emit("hello", "from alice");
  assert.deepEqual(await once(alice, "world"), ["back"]);
  await page.locator('nav a[href="#/events"]').click();
  await page.locator("tr", { hasText: aliceId }).filter({ hasText: "hello" }).waitFor();
  await page.locator("tr", { hasText: aliceId }).filter({ hasText: "world" }).waitFor();
  await page.locator("tr", { hasText: daveId }).filter({ hasText: "Connection" }).waitFor();
  await page.locator("tr", { hasText: daveId }).filter({ hasText: "Room joined" }).filter({ hasText: "lobby" }).waitFor();
  dave.close();
  await page.locator("tr", { hasText: daveId }).filter({ hasText: "Disconnection" }).filter({ hasText: "client namespace disconnect" }).waitFor();
  await shot("events");

  step("alice joins a room from her page");
  await page.locator('nav a[href="#/sockets"]').click();
  await page.locator("tr", { hasText: "world" }).first().waitFor({ state: "detached" }); // the events view has gone
  await page.locator("td", { hasText: aliceId }).click();
  await page.getByText("Initial HTTP request").waitFor();
  await page.locator("tr", { hasText: "user" }).filter({ hasText: "alice" }).first().waitFor();
  const roomsCard = page.locator(".v-card", { hasText: "Join a room" });
  await roomsCard.getByLabel("Join a room").fill("vip");
  await roomsCard.locator("form button[type=submit]").click();
  await roomsCard.locator("tr", { hasText: "vip" }).waitFor();
  assert.deepEqual(await alice.timeout(LIMIT_MS).emitWithAck("rooms"), [aliceId, "lobby", "vip"].sort());
  await shot("socket");

  step("bob is disconnected from the sockets list");
  await page.locator('nav a[href="#/sockets"]').click();
  await page.getByText("Initial HTTP request").waitFor({ state: "detached" }); // alice's page has gone
  const bobGone = once(bob, "disconnect");
  // The button sits in bob's row, whose click also opens his page.
  await page.locator("tr", { hasText: bobId }).locator("button").click();
  assert.deepEqual(await bobGone, ["io server disconnect", undefined]);
  await shot("disconnected");
  await page.locator('nav a[href="#/sockets"]').click();
  await page.locator(".v-data-table tr", { hasText: aliceId }).waitFor();
  await page.locator(".v-data-table tr", { hasText: bobId }).waitFor({ state: "detached" });
  step("a reload reconnects with the session id");
  await page.reload();
  await page.locator('nav a[href="#/sockets"]').click();
  await page.locator("tr", { hasText: aliceId }).waitFor();
  assert.equal(await page.locator(".v-dialog--active").count(), 0, "no connection form after a reload");

  assert.deepEqual(problems, []);
  console.log(JSON.stringify({ alice: aliceId, bob: bobId, carol: carolId }));
} finally {
  await browser.close();
  alice.close();
  bob.close();
  carol.close();
}
