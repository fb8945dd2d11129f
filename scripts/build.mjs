#!/usr/bin/env node
// `npm run build` (and `npm ci`/`npm install`, through `prepare`): compiles src/ to dist/ with
// declarations and source maps, then copies the files modules read next to themselves (Redis
// Lua scripts, OpenLineage facet schemas). dist/ mirrors src/ folder for folder, so paths such as
// `../../pipelines` resolve the same from either. Last, Vite bundles the web console (src/console)
// into dist/console.
import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "src");
const DIST = join(ROOT, "dist");
const ASSETS = /\.(lua|json)$/;

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const built = spawnSync(process.execPath, [tsc, "-p", join(ROOT, "tsconfig.build.json")], { stdio: "inherit" });
if (built.status !== 0) process.exit(built.status ?? 1);

let copied = 0;
for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !ASSETS.test(entry.name)) continue;
  const from = join(entry.parentPath, entry.name);
  cpSync(from, join(DIST, relative(SRC, from)));
  copied++;
}
console.log(`sluice: built dist/ (${copied} asset files copied)`);

// The web console (src/console: Preact, bundled by Vite) → dist/console, served by `sluice serve` at /.
const { build } = await import("vite");
await build({
  root: join(SRC, "console"),
  configFile: false,
  logLevel: "warn",
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: join(DIST, "console"),
    emptyOutDir: true,
    target: "es2022",
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
console.log("sluice: built dist/console (the web console)");
