import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { ROOT } from "./helpers/cli.ts";

type Exports = Record<string, { types: string; default: string }>;

// The exports point at the compiled build (`npm run build`, which `npm ci` and `npm test` run).
describe("package exports", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: Exports };

  it("every subpath export resolves to compiled JavaScript that loads and exports something", async () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      assert.match(target.default, /^\.\/dist\/.*\.js$/, `${subpath} must point at dist/*.js`);
      const mod = (await import(pathToFileURL(join(ROOT, target.default)).href)) as Record<string, unknown>;
      assert.ok(Object.keys(mod).length > 0, `${subpath} → ${target.default} exports nothing`);
    }
  });

  it("every subpath export has its declarations and a source map next to it", () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      assert.ok(existsSync(join(ROOT, target.types)), `${subpath}: ${target.types} is missing`);
      assert.ok(existsSync(join(ROOT, `${target.default}.map`)), `${subpath}: no source map for ${target.default}`);
    }
  });
});
