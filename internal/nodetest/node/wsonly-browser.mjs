// Loads the WebSocket-only example's page (examples/wsonly) in headless
// Chromium: it must connect over WebSocket without a single long-polling
// request, and its + button must change the shared counter.
//
// Usage: node wsonly-browser.mjs <URL> <artifacts dir>
// Chromium: CHROMIUM_PATH, default /usr/bin/chromium. Exits non-zero with
// the reason on failure.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, artifacts] = process.argv.slice(2);
if (!url || !artifacts) {
  console.error("usage: node wsonly-browser.mjs <URL> <artifacts dir>");
  process.exit(2);
}
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.error(`no Chromium at ${chromiumPath}: run make deps`);
  process.exit(1);
}
mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  timeout: 10_000,
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
try {
  const page = await browser.newPage({ viewport: { width: 520, height: 520 } });
  page.setDefaultTimeout(5000);
  const problems = [];
  const polls = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => msg.type() === "error" && problems.push(`console error: ${msg.text()}`));
  page.on("request", (req) => {
    if (req.url().includes("transport=polling")) polls.push(req.url());
  });
  const sockets = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));

  await page.goto(`${url}/`);
  await page.locator('#transport[data-transport="websocket"]').waitFor();
  await page.locator("#count", { hasText: "0" }).waitFor();
  await page.locator("#plus:enabled").click();
  await page.locator("#count", { hasText: "1" }).waitFor();
  await page.locator("#plus").click();
  await page.locator("#count", { hasText: "2" }).waitFor();
  await page.screenshot({ path: join(artifacts, "wsonly.png") });

  assert.deepEqual(polls, [], "the page made long-polling requests");
  assert.equal(sockets.length, 1, `WebSockets opened: ${sockets}`);
  assert.match(sockets[0], /\/socket\.io\/\?EIO=4&transport=websocket/);
  assert.deepEqual(problems, []);
  console.log(JSON.stringify({ transport: await page.locator("#transport").textContent(), count: await page.locator("#count").textContent() }));
} finally {
  await browser.close();
}
