// Headless Chromium in one cell of the proxy matrix (internal/proxymatrix):
// it opens PAGE (the matrix server's /matrix/ page, which loads Ferry's
// browser bundle: socket.io-client 4.8 with the msgpack parser), optionally
// with PROXY as Chromium's HTTP proxy, and runs the same exchange of
// numbered messages as matrix-client.mjs, then prints one JSON result.
//
// Environment: PAGE, PROXY, TRANSPORTS, TRY_ALL, DURATION_MS, TICK_MS,
// IDLE_FIRST_MS, as in matrix-client.mjs. Chromium comes from the machine: CHROMIUM_PATH, default
// /usr/bin/chromium.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

const env = process.env;
const chromiumPath = env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.error(`no Chromium at ${chromiumPath}: run make deps`);
  process.exit(1);
}
const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
if (env.PROXY) {
  // Chromium sends loopback traffic around a proxy unless told not to.
  args.push(`--proxy-server=${env.PROXY}`, "--proxy-bypass-list=<-loopback>");
}
const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, timeout: 30_000, args });
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
  await page.goto(env.PAGE, { timeout: 30_000 });
  const config = {
    transports: (env.TRANSPORTS || "polling,websocket").split(","),
    tryAll: env.TRY_ALL === "1",
    duration: Number(env.DURATION_MS || 3000),
    tick: Number(env.TICK_MS || 100),
    idleFirst: Number(env.IDLE_FIRST_MS || 0),
    id: Math.random().toString(36).slice(2),
  };
  const result = await page.evaluate(
    (config) =>
      new Promise((resolve) => {
        const start = performance.now();
        const ms = () => Math.round(performance.now() - start);
        const result = { firstEventMs: null, connects: 0, reasons: [], down: [], upSent: 0, transports: [], errors: [] };
        const socket = window.ferry.io({
          transports: config.transports,
          tryAllTransports: config.tryAll,
          auth: { id: config.id },
          reconnectionDelay: 200,
          reconnectionDelayMax: 1000,
        });
        socket.io.on("error", (err) => result.errors.length < 5 && result.errors.push(String(err?.message ?? err)));
        socket.on("connect", () => {
          result.connects++;
          socket.io.engine.on("upgrade", (t) => result.transports.push(`${ms()}ms ${t.name}`));
          result.transports.push(`${ms()}ms ${socket.io.engine.transport.name}`);
        });
        socket.on("disconnect", (reason) => result.reasons.push(`${ms()}ms ${reason}`));
        socket.on("welcome", () => {
          if (result.firstEventMs === null) result.firstEventMs = ms();
        });
        socket.on("down", (n) => result.down.push(n));
        const finish = () => {
          result.transport = socket.io.engine?.transport?.name ?? null;
          result.connected = socket.connected;
          resolve(JSON.parse(JSON.stringify(result)));
          socket.disconnect();
        };
        socket.once("connect", async () => {
          if (config.idleFirst) await new Promise((r) => setTimeout(r, config.idleFirst));
          const timer = setInterval(() => socket.emit("up", result.upSent++), config.tick);
          await new Promise((r) => setTimeout(r, config.duration));
          clearInterval(timer);
          try {
            result.report = await socket.timeout(30_000).emitWithAck("report");
          } catch (err) {
            result.errors.push(`report: ${err.message}`);
          }
          finish();
        });
        setTimeout(() => {
          result.errors.push("no report within the time limit");
          finish();
        }, config.idleFirst + config.duration + 60_000);
      }),
    config,
  );
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
