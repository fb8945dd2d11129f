#!/usr/bin/env node
// Entry point for `npx sluice`: the compiled CLI in dist/, which `npm run build` writes (`npm ci`
// and `npm install` run it through `prepare`). Development runs the sources with
// `npm run sluice -- …` (tsx) instead. Stack traces point into src/ with SLUICE_DEBUG=1.
import { existsSync } from "node:fs";
import module from "node:module";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  process.stderr.write("sluice: dist/ is missing; run `npm run build` in the sluice folder first\n");
  process.exit(1);
}
if (process.env["SLUICE_DEBUG"]) process.setSourceMapsEnabled(true);
// Node 22.1+ keeps the bytecode of the modules it compiles (in the OS temp folder), so later
// starts skip most of the parsing; Node 20 has no such cache and starts as before.
/** @type {{ enableCompileCache?: () => unknown }} */ (module).enableCompileCache?.();
await import(main.href);
