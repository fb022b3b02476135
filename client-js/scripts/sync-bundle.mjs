// Builds the package and copies the browser bundle into the Go package that
// serves it: internal/jsclient/dist/{ferry.min.js, ferry.min.js.map,
// ferry.min.js.gz}. Run it (npm run sync) after changing the client or its
// dependencies, and commit the copies; internal/jsclient's tests fail while
// they differ from a fresh build.
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { constants, gzipSync } from "node:zlib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const target = join(root, "..", "internal", "jsclient", "dist");

execFileSync(process.execPath, [join(root, "scripts", "build.mjs"), "--outdir", dist], { cwd: root, stdio: "inherit" });

await mkdir(target, { recursive: true });
for (const name of ["ferry.min.js", "ferry.min.js.map"]) {
  await copyFile(join(dist, name), join(target, name));
}
const js = await readFile(join(dist, "ferry.min.js"));
const gz = gzipSync(js, { level: constants.Z_BEST_COMPRESSION });
await writeFile(join(target, "ferry.min.js.gz"), gz);
console.log(`synced ${relative(root, target)}: ferry.min.js ${js.length} bytes, ${gz.length} gzipped`);
