// The browser bundle dist/ferry.min.js (built by `npm run build`): it loads
// as a classic script, defines the global `ferry`, stays within its gzip
// budget, and its msgpack encoder (notepack.io's browser build) sends a
// Uint8Array as msgpack bin.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bundlePath = join(root, "dist", "ferry.min.js");

interface Ferry {
  connect: unknown;
  io: unknown;
  transportName: unknown;
  onTransportChange: unknown;
  resolveOptions: (o?: object) => { parser?: unknown; transports?: string[] };
  msgpackParser: { Encoder: new () => { encode(p: object): unknown[] } };
  Manager: unknown;
}

async function loadBundle(): Promise<{ ferry: Ferry; context: vm.Context }> {
  const code = await readFile(bundlePath, "utf8");
  const context = vm.createContext({});
  vm.runInContext(code, context, { filename: "ferry.min.js" });
  return { ferry: (context as { ferry: Ferry }).ferry, context };
}

describe("dist/ferry.min.js", () => {
  it("defines the global ferry with the public API", async () => {
    const { ferry } = await loadBundle();
    for (const name of ["connect", "io", "transportName", "onTransportChange", "resolveOptions", "Manager"] as const) {
      assert.equal(typeof ferry[name], "function", name);
    }
    assert.equal(ferry.resolveOptions().parser, ferry.msgpackParser);
    assert.deepEqual([...(ferry.resolveOptions({ websocketOnly: true }).transports ?? [])], ["websocket"]);
  });

  it("encodes a Uint8Array view as msgpack bin holding only its bytes", async () => {
    const { context } = await loadBundle();
    const hex = vm.runInContext(
      `(() => {
        const view = new Uint8Array([1, 2, 3, 4]).subarray(1, 3);
        const [out] = new ferry.msgpackParser.Encoder().encode({ type: 2, nsp: "/", data: ["b", view] });
        return Array.from(new Uint8Array(out), (b) => b.toString(16).padStart(2, "0")).join("");
      })()`,
      context,
    ) as string;
    // {type:2, nsp:"/", data:["b", bin(02 03)]}
    assert.equal(hex, "83a47479706502a36e7370a12fa46461746192a162c4020203");
  });

  it("stays within the gzip size budget in package.json", async () => {
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      ferry: { gzipBudget: Record<string, number> };
    };
    const budget = pkg.ferry.gzipBudget["dist/ferry.min.js"];
    assert.equal(typeof budget, "number");
    const size = gzipSync(await readFile(bundlePath), { level: 9 }).length;
    assert.ok(size <= budget!, `dist/ferry.min.js is ${size} bytes gzipped, budget ${budget}`);
  });

  it("points at its source map", async () => {
    const code = await readFile(bundlePath, "utf8");
    assert.match(code, /\n\/\/# sourceMappingURL=ferry\.min\.js\.map\n?$/);
    const map = JSON.parse(await readFile(`${bundlePath}.map`, "utf8")) as { sources: string[] };
    assert.ok(map.sources.includes("../src/index.ts"), "map lists src/index.ts relative to dist/");
  });
});
