import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { SluiceError } from "../contracts/errors.ts";
import { HashEmbedder } from "./backends/hash-embedder.ts";
import { MicroBatcher } from "./batcher.ts";
import { describeDenseEmbedderConformance } from "./conformance.test-suite.ts";
import type { DenseEmbedder, EmbedOptions } from "./ports.ts";

/** HashEmbedder that records every backend call, can be slowed down, and fails batches containing "boom". */
class RecordingEmbedder implements DenseEmbedder {
  readonly id = "recording";
  readonly dimensions = 32;
  readonly calls: Array<{ texts: string[]; kind: EmbedOptions["kind"] }> = [];
  active = 0;
  maxActive = 0;
  closed = false;
  private readonly hash = new HashEmbedder({ dimensions: 32 });
  constructor(private readonly delayMs = 0) {}
  async warmUp(): Promise<void> {}
  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    this.calls.push({ texts: [...texts], kind: options.kind });
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await sleep(this.delayMs);
      if (texts.includes("boom")) throw new SluiceError("MODEL_UNAVAILABLE", "backend exploded");
      return texts.map((t) => this.hash.embedOne(`${options.kind ?? ""}|${t}`));
    } finally {
      this.active--;
    }
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  expected(text: string, kind?: EmbedOptions["kind"]): Float32Array {
    return this.hash.embedOne(`${kind ?? ""}|${text}`);
  }
}

describeDenseEmbedderConformance("MicroBatcher(hash)", () => new MicroBatcher(new HashEmbedder({ dimensions: 128 }), { maxBatch: 4 }));

void describe("MicroBatcher", () => {
  void it("coalesces 20 concurrent calls of 3 texts into ceil(60/16) = 4 backend calls, each caller getting its own vectors", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 16 });
    const inputs = Array.from({ length: 20 }, (_, d) => [`doc${d} chunk0`, `doc${d} chunk1`, `doc${d} chunk2`]);
    const results = await Promise.all(inputs.map((texts) => batcher.embed(texts)));
    assert.equal(inner.calls.length, 4);
    assert.deepEqual(inner.calls.map((c) => c.texts.length), [16, 16, 16, 12]);
    assert.deepEqual(inner.calls.flatMap((c) => c.texts), inputs.flat(), "texts reach the backend once each, in arrival order");
    for (const [d, texts] of inputs.entries()) {
      assert.equal(results[d]?.length, 3);
      for (const [i, text] of texts.entries()) assert.deepEqual(results[d]?.[i], inner.expected(text), `doc ${d} text ${i}`);
    }
  });

  void it("sends a full batch at once without waiting for maxWaitMs", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 4, maxWaitMs: 60_000 });
    const started = Date.now();
    await Promise.all([batcher.embed(["a", "b"]), batcher.embed(["c", "d"])]);
    assert.ok(Date.now() - started < 1_000);
    assert.deepEqual(inner.calls.map((c) => c.texts), [["a", "b", "c", "d"]]);
  });

  void it("sends a partial batch after maxWaitMs, not synchronously", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 64, maxWaitMs: 30 });
    const pending = batcher.embed(["lonely"]);
    await sleep(5);
    assert.equal(inner.calls.length, 0, "still waiting for company");
    const [v] = await pending;
    assert.deepEqual(v, inner.expected("lonely"));
    assert.equal(inner.calls.length, 1);
  });

  void it("splits a call larger than maxBatch across batches and reassembles it in order", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 16 });
    const texts = Array.from({ length: 40 }, (_, i) => `t${i}`);
    const vectors = await batcher.embed(texts);
    assert.deepEqual(inner.calls.map((c) => c.texts.length), [16, 16, 8]);
    assert.deepEqual(vectors, texts.map((t) => inner.expected(t)));
  });

  void it("rejects every caller in a failed batch and leaves other batches alone", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 4 });
    const a = batcher.embed(["a1", "a2"]);
    const b = batcher.embed(["b1", "boom"]);
    const c = batcher.embed(["c1", "c2"]);
    await assert.rejects(a, { code: "MODEL_UNAVAILABLE", message: "backend exploded" });
    await assert.rejects(b, { code: "MODEL_UNAVAILABLE" });
    assert.deepEqual(await c, [inner.expected("c1"), inner.expected("c2")]);
  });

  void it("rejects a caller whose call spans a failed batch, and does not send its remaining texts", async () => {
    const inner = new RecordingEmbedder(10);
    const batcher = new MicroBatcher(inner, { maxBatch: 2 });
    await assert.rejects(batcher.embed(["boom", "x", "y", "z"]), { message: "backend exploded" });
    await sleep(30);
    assert.deepEqual(inner.calls.map((c) => c.texts), [["boom", "x"]]);
  });

  void it("rejects an aborted caller at once and drops its unsent texts", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 64, maxWaitMs: 20 });
    const controller = new AbortController();
    const keep = batcher.embed(["keep me"]);
    const dropped = batcher.embed(["drop me", "me too"], { signal: controller.signal });
    controller.abort();
    await assert.rejects(dropped, { name: "AbortError" });
    assert.deepEqual(await keep, [inner.expected("keep me")]);
    assert.deepEqual(inner.calls.map((c) => c.texts), [["keep me"]]);
  });

  void it("rejects an already-aborted signal without calling the backend", async () => {
    const inner = new RecordingEmbedder();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(new MicroBatcher(inner).embed(["x"], { signal: controller.signal }), { name: "AbortError" });
    await sleep(10);
    assert.equal(inner.calls.length, 0);
  });

  void it("never mixes query and passage texts in one batch", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 8 });
    const [q, p, n] = await Promise.all([batcher.embed(["q"], { kind: "query" }), batcher.embed(["p"], { kind: "passage" }), batcher.embed(["n"])]);
    assert.deepEqual(q, [inner.expected("q", "query")]);
    assert.deepEqual(p, [inner.expected("p", "passage")]);
    assert.deepEqual(n, [inner.expected("n")]);
    assert.deepEqual(inner.calls.map((c) => [c.kind, c.texts]).sort(), [[undefined, ["n"]], ["passage", ["p"]], ["query", ["q"]]].sort());
  });

  void it("keeps at most `concurrency` backend calls in flight, queueing the rest into full batches", async () => {
    for (const concurrency of [1, 3]) {
      const inner = new RecordingEmbedder(15);
      const batcher = new MicroBatcher(inner, { maxBatch: 4, concurrency });
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => batcher.embed([`x${i}`, `y${i}`])));
      assert.equal(inner.maxActive, concurrency);
      assert.deepEqual(inner.calls.map((c) => c.texts.length), [4, 4, 4, 4, 4, 4]);
      assert.deepEqual(results[11], [inner.expected("x11"), inner.expected("y11")]);
    }
  });

  void it("passes id and dimensions through, and close() rejects queued calls and closes the backend", async () => {
    const inner = new RecordingEmbedder();
    const batcher = new MicroBatcher(inner, { maxBatch: 64, maxWaitMs: 1_000 });
    assert.equal(batcher.id, "recording");
    assert.equal(batcher.dimensions, 32);
    const queued = batcher.embed(["never sent"]);
    await batcher.close();
    await assert.rejects(queued, { code: "MODEL_UNAVAILABLE", message: "embedder is closed" });
    assert.equal(inner.calls.length, 0);
    assert.equal(inner.closed, true);
  });

  void it("rejects bad options with CONFIG_INVALID", () => {
    assert.throws(() => new MicroBatcher(new RecordingEmbedder(), { maxBatch: 0 }), { code: "CONFIG_INVALID" });
  });
});
