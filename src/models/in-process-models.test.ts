import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import { parseConfig } from "../config/load-config.ts";
import { HashEmbedder } from "./backends/hash-embedder.ts";
import { StaticEmbedder } from "./backends/static-embedder.ts";
import { UseLiteEmbedder } from "./backends/use-lite-embedder.ts";
import { createModelPlane } from "./create-model-plane.ts";
import { InProcessModels } from "./in-process-models.ts";
import { embedConcurrency, resolveModelThreads, ThreadedEmbedder } from "./threaded-embedder.ts";

// Building an embedder starts no thread and loads no model, so none of these needs closing.
void describe("InProcessModels threads", () => {
  void it("runs static and use-lite in a pool of `threads` threads, and everything else on the event loop", () => {
    const embedder = (config: Record<string, unknown>, threads?: number) =>
      new InProcessModels({
        embedder: parseConfig({ embedder: config }).embedder,
        ...(threads === undefined ? {} : { threads }),
      }).embedder();
    const pooled = new InProcessModels({ embedder: parseConfig({}).embedder, threads: 2 }).embedder();
    assert.ok(pooled instanceof ThreadedEmbedder);
    assert.equal(pooled.threads, 2);
    assert.equal(embedConcurrency(pooled), 2);
    assert.equal(pooled.id, "static-use-lite@unwarmed");
    assert.ok(embedder({ backend: "use-lite" }, 1) instanceof ThreadedEmbedder);
    assert.ok(embedder({ backend: "static" }) instanceof StaticEmbedder, "no threads: as before");
    assert.ok(embedder({ backend: "use-lite" }) instanceof UseLiteEmbedder);
    const hash = embedder({ backend: "hash" }, 4);
    assert.ok(hash instanceof HashEmbedder, "hash is not worth the hop");
    assert.equal(embedConcurrency(hash), 1);
  });

  void it("createModelPlane takes the count from models.threads; auto leaves one core to the event loop", async () => {
    const threads = async (models: Record<string, unknown>) => {
      const embedder = (await createModelPlane(parseConfig({ models }))).embedder();
      return embedder instanceof ThreadedEmbedder ? embedder.threads : 0;
    };
    assert.equal(await threads({ threads: 3 }), 3);
    assert.equal(await threads({ threads: 0 }), 0);
    assert.equal(await threads({}), Math.max(1, availableParallelism() - 1));
    assert.equal(resolveModelThreads("auto"), Math.max(1, availableParallelism() - 1));
  });
});
