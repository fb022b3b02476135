// Drives the chat example (examples/chat) in headless Chromium: two pages
// join one room, one forced onto long-polling (?transport=polling), the
// other left to upgrade to WebSocket. Each must see the other's messages,
// typing indicator and presence, and its own transport in the badge.
// A third page, phone-width and in dark mode, checks the responsive layout.
// Screenshots of all three are written to the artifacts folder.
//
// Usage: node chat-browser.mjs <chat URL> <artifacts dir>
// Chromium comes from the machine: CHROMIUM_PATH, default /usr/bin/chromium.
// Prints a JSON summary on stdout; exits non-zero with the reason on failure.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, artifacts] = process.argv.slice(2);
if (!url || !artifacts) {
  console.error("usage: node chat-browser.mjs <chat URL> <artifacts dir>");
  process.exit(2);
}
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const LIMIT_MS = 10_000; // per step; generous for a loaded machine
const started = Date.now();
// step logs progress on stderr, which the Go test shows when it fails.
const step = (what) => console.error(`${String(Date.now() - started).padStart(6)} ms  ${what}`);

if (!existsSync(chromiumPath)) {
  console.error(`no Chromium at ${chromiumPath}: run make deps`);
  process.exit(1);
}
mkdirSync(artifacts, { recursive: true });

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

// problems collects page errors and console errors (a blocked resource or a
// Content-Security-Policy violation shows up there).
const problems = [];

async function open(name, query, viewport, colorScheme = "light") {
  const context = await browser.newContext({ viewport, colorScheme, locale: "en-GB", timezoneId: "UTC" });
  const page = await context.newPage();
  page.setDefaultTimeout(LIMIT_MS);
  page.on("pageerror", (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") {
      problems.push(`${name}: console error: ${msg.text()}`);
    }
  });
  const response = await page.goto(`${url}/${query}`);
  assert.equal(response?.status(), 200, `${name}: GET /${query}`);
  return page;
}

async function login(page, nick, room) {
  await page.locator("#nick").fill(nick);
  await page.locator("#room").fill(room);
  await page.locator("#login-button").click();
  await page.locator("#login").waitFor({ state: "hidden" });
  await page.locator("#text:enabled").waitFor();
}

// waitText waits until the element matching selector holds text.
async function waitText(page, selector, text) {
  await page.locator(selector, { hasText: text }).first().waitFor();
}

async function peopleOf(page) {
  return page.locator("#people li").evaluateAll((items) => items.map((li) => li.dataset.nick));
}

try {
  const desktop = { width: 1100, height: 720 };
  step("alice, bob and carol open the page");
  // The pages load in parallel; they join one by one below.
  const [alice, bob, phone] = await Promise.all([
    open("alice", "?transport=polling", desktop),
    open("bob", "", desktop),
    // A phone-width page in dark mode, to check the responsive layout.
    open("carol", "", { width: 390, height: 760 }, "dark"),
  ]);
  await alice.locator("#room-options option").first().waitFor({ state: "attached" }); // the room list arrived
  await alice.locator("#nick").fill("alice");
  await alice.screenshot({ path: join(artifacts, "chat-login.png") });
  step("alice and bob join");
  await login(alice, "alice", "general");
  await login(bob, "bob", "General"); // names are normalised: same room

  step("checking transports");
  // Transports: alice stays on polling, bob's connection upgrades.
  await alice.locator('#transport[data-transport="polling"]').waitFor();
  await bob.locator('#transport[data-transport="websocket"]').waitFor();
  assert.equal(await alice.locator("#transport").textContent(), "polling");
  assert.equal(await bob.locator("#transport").textContent(), "websocket");

  step("checking presence");
  // Presence: both see both.
  for (const page of [alice, bob]) {
    await page.waitForFunction(() => document.querySelectorAll("#people li").length === 2);
    assert.deepEqual(await peopleOf(page), ["alice", "bob"]);
    assert.equal(await page.locator("#room-title").textContent(), "general");
  }
  await waitText(alice, "#messages .system", "bob joined #general");

  step("alice types and sends");
  // alice (polling) types, bob sees it; alice sends, bob receives, alice
  // sees the delivery ack and bob's indicator clears.
  await alice.locator("#text").fill("Hello from long-polling");
  await waitText(bob, "#typing", "alice is typing…");
  await waitText(bob, '#people li[data-nick="alice"]', "typing…");
  await alice.locator("#text").press("Enter");
  await waitText(bob, '#messages .msg[data-nick="alice"] .text', "Hello from long-polling");
  await waitText(alice, "#messages .msg.mine .delivery", "✓ delivered");
  await bob.waitForFunction(() => document.getElementById("typing").textContent === "");

  step("bob types and sends");
  // bob (websocket) answers the same way.
  await bob.locator("#text").fill("Hi alice, I'm on a WebSocket");
  await waitText(alice, "#typing", "bob is typing…");
  await bob.locator("#text").press("Enter");
  await waitText(alice, '#messages .msg[data-nick="bob"] .text', "Hi alice, I'm on a WebSocket");
  await waitText(bob, "#messages .msg.mine .delivery", "✓ delivered");
  await alice.waitForFunction(() => document.getElementById("typing").textContent === "");

  await alice.locator("#text").fill("Both directions work.");
  await alice.locator("#text").press("Enter");
  await waitText(bob, '#messages .msg[data-nick="alice"] .text', "Both directions work.");

  step("bob tries a bad room name");
  // Invalid input gets a readable error from the server's ack.
  await bob.locator("#new-room-name").fill("no/slashes");
  await bob.locator("#new-room button").click();
  await waitText(bob, "#messages .system", "Could not join that room: room name may hold only");

  // Leave bob typing so that alice's screenshot shows the indicator.
  await bob.locator("#text").fill("typing something…");
  await waitText(alice, "#typing", "bob is typing…");

  step("screenshots");
  await alice.screenshot({ path: join(artifacts, "chat-alice-polling.png") });
  await bob.screenshot({ path: join(artifacts, "chat-bob-websocket.png") });

  step("carol joins on the phone-width page");
  // The layout must fit 390 px.
  await login(phone, "carol", "general");
  await phone.locator('#transport[data-transport="websocket"]').waitFor();
  await waitText(phone, '#messages .msg[data-nick="bob"] .text', "I'm on a WebSocket");
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `phone layout overflows horizontally by ${overflow}px`);
  await phone.screenshot({ path: join(artifacts, "chat-carol-phone.png") });
  await phone.locator("#menu").click();
  // The drawer slides in; wait until it is fully open.
  await phone.waitForFunction(() => document.getElementById("sidebar").getBoundingClientRect().left === 0);
  await phone.waitForFunction(() => document.querySelectorAll("#people li").length === 3);
  await phone.screenshot({ path: join(artifacts, "chat-carol-phone-menu.png") });

  step("carol leaves");
  // carol leaves: the others' presence lists drop her.
  await phone.context().close();
  for (const page of [alice, bob]) {
    await page.waitForFunction(() => document.querySelectorAll("#people li").length === 2);
  }
  await waitText(alice, "#messages .system", "carol left #general");

  step("done");
  assert.deepEqual(problems, []);
  console.log(
    JSON.stringify({
      alice: await alice.locator("#transport").textContent(),
      bob: await bob.locator("#transport").textContent(),
      people: await peopleOf(alice),
      screenshots: ["chat-login.png", "chat-alice-polling.png", "chat-bob-websocket.png", "chat-carol-phone.png", "chat-carol-phone-menu.png"],
    }),
  );
} finally {
  await browser.close();
}
