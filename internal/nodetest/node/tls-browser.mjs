// Loads the TLS example's page (examples/tls) in headless Chromium, with
// certificate errors ignored (the test's certificate is self-signed): the
// page must come over https://, long-poll over https:// (HTTP/2), upgrade
// to wss:// with permessage-deflate negotiated, and echo 256 KiB intact
// over the WebSocket.
//
// Usage: node tls-browser.mjs <https URL> <artifacts dir>
// Chromium: CHROMIUM_PATH, default /usr/bin/chromium. Prints what it saw as
// JSON; exits non-zero with the reason on failure.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, artifacts] = process.argv.slice(2);
if (!url || !artifacts) {
  console.error("usage: node tls-browser.mjs <URL> <artifacts dir>");
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
    "--ignore-certificate-errors",
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 560, height: 460 } });
  page.setDefaultTimeout(10_000);
  const problems = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => msg.type() === "error" && problems.push(`console error: ${msg.text()}`));

  // The DevTools protocol tells the HTTP version of each response and the
  // headers of the WebSocket handshake, which the page cannot see.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const polls = [];
  const handshakes = [];
  cdp.on("Network.responseReceived", ({ response }) => {
    if (response.url.includes("transport=polling")) polls.push({ url: response.url, protocol: response.protocol });
  });
  cdp.on("Network.webSocketCreated", ({ url }) => handshakes.push({ url }));
  cdp.on("Network.webSocketHandshakeResponseReceived", ({ response }) => {
    const headers = Object.fromEntries(Object.entries(response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    handshakes.push({ status: response.status, extensions: headers["sec-websocket-extensions"] ?? "" });
  });

  await page.goto(`${url}/`);
  await page.locator("#scheme", { hasText: "HTTPS" }).waitFor();
  await page.locator('#transport[data-transport="websocket"]').waitFor();
  await page.locator("#size").selectOption("262144");
  await page.locator("#send:enabled").click();
  await page.locator('#result[data-state="ok"]').waitFor();
  await page.screenshot({ path: join(artifacts, "tls.png") });
  const result = await page.locator("#result").evaluate((el) => ({ ...el.dataset, text: el.textContent }));

  assert.ok(polls.length > 0, "no long-polling request");
  for (const p of polls) {
    assert.match(p.url, /^https:\/\//, "polling over https");
    assert.equal(p.protocol, "h2", `polling over HTTP/2: ${p.url} came over ${p.protocol}`);
  }
  const created = handshakes.filter((h) => h.url);
  assert.equal(created.length, 1, `WebSockets opened: ${JSON.stringify(handshakes)}`);
  assert.match(created[0].url, /^wss:\/\/.*\/socket\.io\/\?EIO=4&transport=websocket&sid=/);
  const answered = handshakes.filter((h) => h.status);
  assert.equal(answered.length, 1, JSON.stringify(handshakes));
  assert.equal(answered[0].status, 101);
  assert.match(answered[0].extensions, /^permessage-deflate/, "permessage-deflate negotiated");
  assert.equal(result.transport, "websocket");
  assert.equal(result.secure, "true");
  assert.deepEqual(problems, []);
  console.log(JSON.stringify({ polls: polls.length, pollProtocol: polls[0].protocol, ws: created[0].url.replace(/\?.*/, ""), extensions: answered[0].extensions, result }));
} finally {
  await browser.close();
}
