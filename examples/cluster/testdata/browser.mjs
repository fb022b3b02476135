// Drives the cluster example (examples/cluster) in headless Chromium: five
// chat pages, one on each of three chat servers (opened at the server's own
// port) and two through nginx, all in room #general. Each page sends a
// message; every page must show every message, then a second round, and
// the Go test checks that each shows each message exactly once.
//
// Usage: node browser.mjs <config JSON>
//   {"pages": [{"name", "url", "transport"}...], "artifacts": dir}
// The page URL may carry ?transport=polling or ?transport=websocket;
// "transport" is the one its badge must end on ("websocket" once a
// connection upgrades).
// Environment: NODETEST_DIR, the folder whose node_modules hold
// playwright-core (internal/nodetest/node); CHROMIUM_PATH, default
// /usr/bin/chromium (the machine's: no browser is downloaded).
// Prints a JSON summary on stdout; exits non-zero with the reason on failure.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const config = JSON.parse(process.argv[2] ?? "null");
if (!config || !Array.isArray(config.pages) || !config.artifacts || !process.env.NODETEST_DIR) {
  console.error("usage: NODETEST_DIR=... node browser.mjs '{\"pages\":[{\"name\",\"url\"}],\"artifacts\":dir}'");
  process.exit(2);
}
const { chromium } = createRequire(join(process.env.NODETEST_DIR, "package.json"))("playwright-core");
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const LIMIT_MS = 15_000; // per step; generous for a loaded machine
const started = Date.now();
// step logs progress on stderr, which the Go test shows when it fails.
const step = (what) => console.error(`${String(Date.now() - started).padStart(6)} ms  ${what}`);

if (!existsSync(chromiumPath)) {
  console.error(`no Chromium at ${chromiumPath}: run make deps`);
  process.exit(1);
}
mkdirSync(config.artifacts, { recursive: true });

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

// problems collects page errors and console errors.
const problems = [];

async function open({ name, url }) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 700 }, locale: "en-GB", timezoneId: "UTC" });
  const page = await context.newPage();
  page.setDefaultTimeout(LIMIT_MS);
  page.on("pageerror", (err) => problems.push(`${name}: page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") {
      problems.push(`${name}: console error: ${msg.text()}`);
    }
  });
  const response = await page.goto(url);
  assert.equal(response?.status(), 200, `${name}: GET ${url}`);
  return page;
}

async function login(page, nick) {
  await page.locator("#nick").fill(nick);
  await page.locator("#room").fill("general");
  await page.locator("#login-button").click();
  await page.locator("#login").waitFor({ state: "hidden" });
  await page.locator("#text:enabled").waitFor();
}

async function send(page, text) {
  await page.locator("#text").fill(text);
  await page.locator("#text").press("Enter");
}

// waitAll waits until page shows every one of texts as a message.
async function waitAll(page, texts) {
  await page.waitForFunction((want) => {
    const shown = new Set(Array.from(document.querySelectorAll("#messages .msg .text > span:first-child"), (s) => s.textContent));
    return want.every((t) => shown.has(t));
  }, texts);
}

try {
  step(`opening ${config.pages.map((p) => `${p.name} (${p.url})`).join(", ")}`);
  const pages = await Promise.all(config.pages.map(open));
  const names = config.pages.map((p) => p.name);

  step("everyone joins #general");
  for (const [i, page] of pages.entries()) {
    await login(page, names[i]);
  }

  // Two rounds: the second is sent after every page has shown the whole
  // first, so a duplicate of a first-round message would have arrived
  // before the second round's message from the same server.
  for (const round of ["hello", "bye"]) {
    step(`round "${round}": each page sends`);
    const texts = names.map((n) => `${round} from ${n}`);
    await Promise.all(pages.map((page, i) => send(page, texts[i])));
    step(`round "${round}": waiting until every page shows every message`);
    await Promise.all(pages.map((page) => waitAll(page, texts)));
  }
  step("checking transports");
  await Promise.all(pages.map((page, i) => page.locator(`#transport[data-transport="${config.pages[i].transport}"]`).waitFor()));
  // Own messages acknowledged by their server.
  await Promise.all(
    pages.map((page) =>
      page.waitForFunction(() => Array.from(document.querySelectorAll("#messages .msg.mine .delivery")).every((d) => d.dataset.state === "delivered")),
    ),
  );

  step("screenshots");
  const screenshots = [];
  for (const [i, page] of pages.entries()) {
    const file = `cluster-${names[i]}.png`;
    await page.screenshot({ path: join(config.artifacts, file) });
    screenshots.push(file);
  }

  const summary = { pages: {}, screenshots };
  for (const [i, page] of pages.entries()) {
    const texts = await page.locator("#messages .msg .text > span:first-child").allTextContents();
    const counts = {};
    for (const t of texts) {
      counts[t] = (counts[t] ?? 0) + 1;
    }
    summary.pages[names[i]] = {
      transport: await page.locator("#transport").getAttribute("data-transport"),
      people: await page.locator("#people li").evaluateAll((items) => items.map((li) => li.dataset.nick)),
      messages: counts,
    };
  }
  step("done");
  assert.deepEqual(problems, []);
  console.log(JSON.stringify(summary));
} finally {
  await browser.close();
}
