// The build is deterministic and independent of its output folder: two
// builds into different temporary folders give the same bytes as dist/.
// internal/jsclient's Go test relies on this to detect a stale bundle.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

async function buildInto(dir: string, how: "env" | "arg"): Promise<void> {
  const script = join(root, "scripts", "build.mjs");
  const args = how === "arg" ? [script, "--outdir", dir] : [script];
  const env = how === "env" ? { ...process.env, FERRY_JS_OUTDIR: dir } : process.env;
  await promisify(execFile)(process.execPath, args, { cwd: root, env, timeout: 60_000 });
}

describe("scripts/build.mjs", () => {
  it("writes the same bytes whatever the output folder", async (t) => {
    const a = await mkdtemp(join(tmpdir(), "ferry-build-a-"));
    const b = await mkdtemp(join(tmpdir(), "ferry-build-b-"));
    t.after(() => Promise.all([rm(a, { recursive: true, force: true }), rm(b, { recursive: true, force: true })]));
    await Promise.all([buildInto(a, "env"), buildInto(b, "arg")]);
    const names = (await readdir(a)).sort();
    assert.deepEqual(names, ["ferry.min.js", "ferry.min.js.map", "index.d.ts", "index.js"]);
    assert.deepEqual((await readdir(b)).sort(), names);
    for (const name of names) {
      const fromA = await readFile(join(a, name));
      assert.ok(fromA.equals(await readFile(join(b, name))), `${name} differs between two builds`);
      assert.ok(fromA.equals(await readFile(join(root, "dist", name))), `${name} differs from dist/${name}`);
    }
  });
});
