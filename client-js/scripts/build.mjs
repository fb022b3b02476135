// Builds the package into an output folder (default dist/):
//   index.js       ESM for bundlers and Node; socket.io-client and
//                  socket.io-msgpack-parser stay external imports
//   index.d.ts     declarations (tsc --emitDeclarationOnly)
//   ferry.min.js   browser bundle: IIFE, global `ferry`, minified, everything inlined
//   ferry.min.js.map
//
// The output folder comes from `--outdir <dir>` or the FERRY_JS_OUTDIR
// environment variable. Output is byte-for-byte the same wherever it is
// written: esbuild computes paths (source map `sources`) as if the bundle
// were in dist/, and the files are then written to the chosen folder.
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function outdirFromArgs(argv) {
  const i = argv.indexOf("--outdir");
  if (i >= 0) {
    if (i + 1 >= argv.length) {
      throw new Error("build: --outdir needs a folder");
    }
    return argv[i + 1];
  }
  return process.env.FERRY_JS_OUTDIR || "dist";
}

async function version(pkg) {
  const json = JSON.parse(await readFile(join(root, "node_modules", pkg, "package.json"), "utf8"));
  return json.version;
}

const outdir = resolve(root, outdirFromArgs(process.argv.slice(2)));
const canonical = join(root, "dist");
await mkdir(outdir, { recursive: true });

const entry = join(root, "src", "index.ts");
const shared = {
  absWorkingDir: root,
  entryPoints: [entry],
  bundle: true,
  target: "es2020",
  charset: "utf8",
  logLevel: "warning",
  write: false,
};

const esm = await esbuild.build({
  ...shared,
  format: "esm",
  platform: "neutral",
  packages: "external",
  outfile: join(canonical, "index.js"),
});

const banner =
  `/*! Ferry client ${JSON.parse(await readFile(join(root, "package.json"), "utf8")).version}` +
  ` | socket.io-client ${await version("socket.io-client")}` +
  ` | socket.io-msgpack-parser ${await version("socket.io-msgpack-parser")} | MIT */`;

const browser = await esbuild.build({
  ...shared,
  format: "iife",
  globalName: "ferry",
  platform: "browser",
  minify: true,
  sourcemap: "linked",
  sourcesContent: true,
  banner: { js: banner },
  outfile: join(canonical, "ferry.min.js"),
});

for (const file of [...esm.outputFiles, ...browser.outputFiles]) {
  await writeFile(join(outdir, basename(file.path)), file.contents);
}

// Declarations: dist/index.d.ts (one source file, one declaration file).
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", outdir], {
  cwd: root,
  stdio: "inherit",
});
