import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HashEmbedder } from "./backends/hash-embedder.ts";
import { MicroBatcher } from "./batcher.ts";
import { describeDenseEmbedderConformance } from "./conformance.test-suite.ts";
import type { DenseEmbedder, EmbedOptions } from "./ports.ts";

/**
 * HashEmbedder that records every backend call. The batching rules themselves (splitting, waiting,
 * failures, cancellation, concurrency, option checks) are tested once, on `BatchQueue`
 * (batch-queue.test.ts); these tests cover what MicroBatcher adds: the embedder port around it.
 */
class RecordingEmbedder implements DenseEmbedder {
  readonly id = "recording";
  readonly dimensions = 32;
  readonly calls: Array<{ texts: string[]; kind: EmbedOptions["kind"]; signal: AbortSignal | undefined }> = [];
  closed = false;
  warmUps = 0;
  private readonly hash = new HashEmbedder({ dimensions: 32 });
  async warmUp(): Promise<void> {
    this.warmUps++;
  }
  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    this.calls.push({ texts: [...texts], kind: options.kind, signal: options.signal });
    await Promise.resolve();
    return texts.map((t) => this.hash.embedOne(`${options.kind ?? ""}|${t}`));
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  expected(text: string, kind?: EmbedOptions["kind"]): Float32Array {
    return this.hash.embedOne(`${kind ?? ""}|${text}`);
  }
}

describeDenseEmbedderConformance(
  "MicroBatcher(hash)",
  () => new MicroBatcher(new HashEmbedder({ dimensions: 128 }), { maxBatch: 4 }),
);

void describe("MicroBatcher", () => {
  void it("coalesces 20 concurrent calls of 3 texts into ceil(60/16) = 4 backend calls of maxBatch, each caller getting its own vectors", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 16 });
    const inputs = Array.from({ length: 20 }, (_, d) => [`doc${d} chunk0`, `doc${d} chunk1`, `doc${d} chunk2`]);
    const results = await Promise.all(inputs.map((texts) => batcher.embed(texts)));
    assert.deepEqual(
      inner.calls.map((c) => c.texts.length),
      [16, 16, 16, 12],
    );
    assert.deepEqual(
      inner.calls.flatMap((c) => c.texts),
      inputs.flat(),
      "texts reach the backend once each, in arrival order",
    );
    for (const [d, texts] of inputs.entries()) {
      assert.equal(results[d]?.length, 3);
      for (const [i, text] of texts.entries())
        assert.deepEqual(results[d]?.[i], inner.expected(text), `doc ${d} text ${i}`);
    }
  });

  void it("splits batches at maxBatchChars", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 64, maxBatchChars: 10 });
    await batcher.embed(["aaaa", "bbbb", "cccc", "dd"]);
    assert.deepEqual(
      inner.calls.map((c) => c.texts),
      [
        ["aaaa", "bbbb"],
        ["cccc", "dd"],
      ],
    );
  });

  void it("never mixes query and passage texts in one batch, and passes each batch's kind to the backend", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 8 });
    const [q, p, n] = await Promise.all([
      batcher.embed(["q"], { kind: "query" }),
      batcher.embed(["p"], { kind: "passage" }),
      batcher.embed(["n"]),
    ]);
    assert.deepEqual(q, [inner.expected("q", "query")]);
    assert.deepEqual(p, [inner.expected("p", "passage")]);
    assert.deepEqual(n, [inner.expected("n")]);
    assert.deepEqual(
      inner.calls.map((c) => [c.kind, c.texts]).sort(),
      [
        [undefined, ["n"]],
        ["passage", ["p"]],
        ["query", ["q"]],
      ].sort(),
    );
  });

  void it("passes the caller's signal on: an aborted caller is rejected with its reason and its texts never reach the backend", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 64, maxWaitMs: 60_000 });
    const controller = new AbortController();
    const dropped = batcher.embed(["drop me", "me too"], { signal: controller.signal });
    controller.abort();
    await assert.rejects(dropped, { name: "AbortError" });
    await batcher.close();
    assert.equal(inner.calls.length, 0);
  });

  void it("passes id and dimensions through, and close() rejects queued calls and closes the backend", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 64, maxWaitMs: 1_000 });
    assert.equal(batcher.id, "recording");
    assert.equal(batcher.dimensions, 32);
    const queued = batcher.embed(["never sent"]);
    await batcher.close();
    await assert.rejects(queued, { code: "MODEL_UNAVAILABLE", message: "embedder is closed" });
    await assert.rejects(batcher.embed(["after close"]), { code: "MODEL_UNAVAILABLE", message: "embedder is closed" });
    assert.equal(inner.calls.length, 0);
    assert.equal(inner.closed, true);
  });

  void it("embeds again after close() and a new warmUp()", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 1 });
    await batcher.close();
    await batcher.warmUp();
    assert.deepEqual(await batcher.embed(["again"]), [inner.expected("again")]);
    assert.equal(inner.warmUps, 1);
  });

  void it("rejects bad options with CONFIG_INVALID", () => {
    assert.throws(() => new MicroBatcher(new RecordingEmbedder(), { maxBatch: 0 }), { code: "CONFIG_INVALID" });
  });
});
