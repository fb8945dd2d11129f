import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { EmbedderConfigSchema } from "../config/schema.ts";
import { SluiceError } from "../contracts/errors.ts";
import { HashEmbedder } from "./backends/hash-embedder.ts";
import { OnnxEmbedder } from "./backends/onnx-embedder.ts";
import { OpenAIEmbedder } from "./backends/openai-embedder.ts";
import { StaticEmbedder } from "./backends/static-embedder.ts";
import { UseLiteEmbedder } from "./backends/use-lite-embedder.ts";
import { createEmbedder } from "./create-embedder.ts";
import type { EmbedderConfig } from "./../config/schema.ts";

void describe("createEmbedder", () => {
  void it("builds the backend each parsed config names", () => {
    const cases: Array<[unknown, new (...args: never[]) => unknown, string]> = [
      [{ backend: "use-lite" }, UseLiteEmbedder, "use-lite@energetic-ai-0.2.0"],
      [{ backend: "static" }, StaticEmbedder, "static-use-lite@unwarmed"],
      [{ backend: "hash", dimensions: 64 }, HashEmbedder, "hash-64"],
      [{ backend: "openai", url: "http://127.0.0.1:9", model: "m", dimensions: 8 }, OpenAIEmbedder, "openai:m"],
      [{ backend: "onnx", path: "/models/bge-small" }, OnnxEmbedder, "onnx:bge-small/mean"],
    ];
    for (const [raw, cls, id] of cases) {
      const embedder = createEmbedder(EmbedderConfigSchema.parse(raw));
      assert.ok(embedder instanceof cls, JSON.stringify(raw));
      assert.equal(embedder.id, id);
    }
  });

  void it("throws CONFIG_INVALID listing the known backends for an unknown one", () => {
    assert.throws(
      () => createEmbedder({ backend: "word2vec" } as unknown as EmbedderConfig),
      (err: unknown) =>
        err instanceof SluiceError &&
        err.code === "CONFIG_INVALID" &&
        /"word2vec".*use-lite, onnx, openai, hash/.test(err.message),
    );
  });

  void it("loads neither tfjs nor transformers.js until an embedder warms up", async () => {
    const script = `
      import { createRequire } from "node:module";
      const { createEmbedder } = await import(${JSON.stringify(fileURLToPath(new URL("./create-embedder.ts", import.meta.url)))});
      createEmbedder({ backend: "use-lite", batchSize: 8 });
      createEmbedder({ backend: "static", a: 1e-4, batchSize: 8, memoryWords: 100 });
      createEmbedder({ backend: "onnx", path: "/x/y", pooling: "mean", queryPrefix: "", passagePrefix: "", batchSize: 8 });
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      // transformers.js is ESM, but the onnxruntime-node it loads is CJS and would show up here.
      const heavy = loaded.filter((p) => /@energetic-ai|@huggingface|onnxruntime|tfjs/.test(p));
      await createEmbedder({ backend: "use-lite", batchSize: 8 }).warmUp();
      const after = Object.keys(createRequire(import.meta.url).cache).filter((p) => /@energetic-ai/.test(p));
      console.log(JSON.stringify({ heavy, after: after.length }));
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      { timeout: 60_000 },
    );
    const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { heavy: string[]; after: number };
    assert.deepEqual(result.heavy, [], "nothing heavy before warmUp");
    assert.ok(result.after > 0, "the probe does see the model packages once loaded");
  });
});
