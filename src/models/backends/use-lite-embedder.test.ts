import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertSameVector, cosine, describeDenseEmbedderConformance } from "../conformance.test-suite.ts";
import { UseLiteEmbedder } from "./use-lite-embedder.ts";

describeDenseEmbedderConformance("use-lite", () => new UseLiteEmbedder({ batchSize: 3 }), { semantic: true });

void describe("UseLiteEmbedder", () => {
  const embedder = new UseLiteEmbedder({ batchSize: 2 });
  before(async () => {
    await embedder.warmUp();
  });
  after(async () => {
    await embedder.close();
  });

  void it("has the fixed id and 512 dimensions before and after warmUp", () => {
    const fresh = new UseLiteEmbedder({ batchSize: 8 });
    assert.equal(fresh.id, "use-lite@energetic-ai-0.2.0");
    assert.equal(fresh.dimensions, 512);
    assert.equal(embedder.dimensions, 512);
  });

  void it("splits input into batches of batchSize with the same result as one text at a time", async () => {
    const texts = ["one", "two", "three", "four", "five"];
    const all = await embedder.embed(texts);
    assert.equal(all.length, 5);
    for (const [i, t] of texts.entries()) assertSameVector(all[i], (await embedder.embed([t]))[0], 1e-4, t);
  });

  void it("rejects when the signal aborts after the call has started", async () => {
    const controller = new AbortController();
    const pending = embedder.embed(["a", "b", "c", "d", "e", "f"], { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, { name: "AbortError" });
  });

  void it("knows a question from its answer better than from noise", async () => {
    const [q, a, noise] = await embedder.embed([
      "how do I resume a failed ingestion job?",
      "Failed jobs can be resumed from the last checkpoint with sluice resume.",
      "Bananas are rich in potassium.",
    ]);
    assert.ok(q && a && noise);
    assert.ok(cosine(q, a) > cosine(q, noise));
  });

  void it("can be closed and warmed up again", async () => {
    const e = new UseLiteEmbedder({ batchSize: 4 });
    const [before] = await e.embed(["reopen"]);
    await e.close();
    const [again] = await e.embed(["reopen"]);
    assertSameVector(before, again, 1e-5);
    await e.close();
  });
});
