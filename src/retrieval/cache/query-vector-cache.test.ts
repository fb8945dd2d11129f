import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HashEmbedder } from "../../models/backends/hash-embedder.ts";
import type { EmbedOptions } from "../../models/ports.ts";
import { QueryVectorCache } from "./query-vector-cache.ts";

/** Counts the texts that reach the model. */
class CountingEmbedder extends HashEmbedder {
  embedded: string[] = [];
  override embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]> {
    this.embedded.push(...texts);
    return super.embed(texts, options);
  }
}

describe("QueryVectorCache", () => {
  it("embeds a repeated query once, and passages every time", async () => {
    const model = new CountingEmbedder({ dimensions: 16 });
    const lookups: boolean[] = [];
    const cache = new QueryVectorCache(model, 10, (hit) => lookups.push(hit));
    const [first] = await cache.embed(["resume a job"], { kind: "query" });
    const [again, other] = await cache.embed(["resume a job", "cancel a job"], { kind: "query" });
    assert.deepEqual(again, first);
    assert.deepEqual(other, (await model.embed(["cancel a job"]))[0]);
    await cache.embed(["resume a job"], { kind: "passage" });
    await cache.embed(["resume a job"]);
    assert.deepEqual(model.embedded, ["resume a job", "cancel a job", "cancel a job", "resume a job", "resume a job"]);
    assert.deepEqual(lookups, [false, true, false]);
    assert.equal(cache.id, model.id);
    assert.equal(cache.dimensions, 16);
  });

  it("size 0 sends every query to the model", async () => {
    const model = new CountingEmbedder({ dimensions: 16 });
    const cache = new QueryVectorCache(model, 0);
    await cache.embed(["q"], { kind: "query" });
    await cache.embed(["q"], { kind: "query" });
    assert.equal(model.embedded.length, 2);
  });
});
