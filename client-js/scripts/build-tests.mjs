// Transpiles src/ and test/ (TypeScript) into dist-test/ for `node --test`.
// Type checking is done separately by `npm run typecheck` (tsc --noEmit);
// this step only strips types, keeping one output file per input file.
import { readdir, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist-test");

async function sources(dir) {
  const names = await readdir(join(root, dir));
  return names
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts") && !name.endsWith(".test-d.ts"))
    .map((name) => join(root, dir, name));
}

await rm(outdir, { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: [...(await sources("src")), ...(await sources("test"))],
  outdir,
  outbase: root,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "inline",
  logLevel: "warning",
});
