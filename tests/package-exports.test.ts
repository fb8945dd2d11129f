import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { ROOT } from "./helpers/cli.ts";

describe("package exports", () => {
  it("every subpath export in package.json resolves to a module that loads and exports something", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { exports: Record<string, string> };
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      const mod = (await import(pathToFileURL(join(ROOT, target)).href)) as Record<string, unknown>;
      assert.ok(Object.keys(mod).length > 0, `${subpath} → ${target} exports nothing`);
    }
  });
});
