import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cruise, type IConfiguration, type ICruiseResult } from "dependency-cruiser";

const config = createRequire(import.meta.url)("../.dependency-cruiser.cjs") as IConfiguration;

/**
 * A tiny src/ tree: one import down a layer (fine), one up (value) and one up (type only), which
 * close a cycle text → models → stages → text.
 */
const FILES: Record<string, string> = {
  "src/text/words.ts": "export const words = (s: string): string[] => s.split(' ');\n",
  "src/stages/parse.ts":
    'import { words } from "../text/words.ts";\nexport const parse = (s: string): number => words(s).length;\n',
  "src/models/render.ts":
    'import { parse } from "../stages/parse.ts";\nexport interface Rendered { n: number }\nexport const render = (s: string): Rendered => ({ n: parse(s) });\n',
  "src/text/tokens.ts":
    'import type { Rendered } from "../models/render.ts";\nexport const tokens = (r: Rendered): number => r.n;\n',
};

void describe("layer rules (.dependency-cruiser.cjs)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-layers-"));
    for (const [path, text] of Object.entries(FILES)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("reports an import up the layers (type-only ones too) naming the rule and both files, and the folder cycle; an import down passes", async () => {
    const { output } = await cruise(["src"], {
      baseDir: dir,
      validate: true,
      ruleSet: { forbidden: config.forbidden ?? [] },
      tsPreCompilationDeps: true,
    });
    const found = (output as ICruiseResult).summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort();
    assert.deepEqual(found, [
      "layer-models: src/models/render.ts → src/stages/parse.ts",
      "layer-text: src/text/tokens.ts → src/models/render.ts",
      "no-folder-cycles: src/models → src/stages",
      "no-folder-cycles: src/stages → src/text",
      "no-folder-cycles: src/text → src/models",
    ]);
  });
});
