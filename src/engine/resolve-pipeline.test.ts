import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SluiceError } from "../contracts/errors.ts";
import { resolvePipeline, SHIPPED_PIPELINES, shippedPipelines } from "./resolve-pipeline.ts";

void describe("resolvePipeline", () => {
  void it("resolves a shipped name to its file in pipelines/", () => {
    assert.equal(resolvePipeline("auto"), join(SHIPPED_PIPELINES, "auto.yaml"));
  });

  void it("names every shipped pipelines/*.yaml file, sorted, in the error for an unknown name", () => {
    const files = readdirSync(SHIPPED_PIPELINES)
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => f.slice(0, -".yaml".length))
      .sort();
    assert.ok(files.length >= 2, `pipelines/ holds ${files.join(", ")}`);
    assert.throws(
      () => resolvePipeline("no-such-pipeline"),
      (err: unknown) => {
        assert.ok(err instanceof SluiceError);
        assert.equal(err.code, "PIPELINE_INVALID");
        assert.ok(err.message.includes(`(${files.join(", ")})`), err.message);
        assert.deepEqual(err.details?.["shipped"], files);
        return true;
      },
    );
  });
});

void describe("shippedPipelines", () => {
  void it("lists the folder's .yaml files without extension, sorted, and nothing else", () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-pipelines-"));
    try {
      for (const f of ["zeta.yaml", "auto.yaml", "mid-way.yaml", "notes.md", "old.yml.bak"])
        writeFileSync(join(dir, f), "");
      mkdirSync(join(dir, "folder.yaml"));
      assert.deepEqual(shippedPipelines(dir), ["auto", "mid-way", "zeta"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
