/**
 * The behaviour every DenseEmbedder backend must share, as a `node:test` suite a backend's test
 * file runs against its own factory.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DenseEmbedder } from "./ports.ts";

export interface DenseEmbedderConformanceOptions {
  /**
   * Also require that paraphrases sharing no words score above unrelated text. Only real models
   * pass this; lexical backends (hash) leave it off and are held to the shared-words check.
   */
  semantic?: boolean;
  /** Allowed per-component difference when the same text is embedded twice or in another batch. Default 1e-4. */
  tolerance?: number;
}

/**
 * Cosine similarity of two unit vectors (their dot product).
 *
 * @example
 * assert.ok(cosine(a, b) > cosine(a, c));
 */
export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] as number) * (b[i] as number);
  return dot;
}

/**
 * Asserts two vectors are equal component by component within `tolerance`.
 *
 * @example
 * assertSameVector(batch[0], (await embedder.embed([text]))[0], 1e-4, text);
 */
export function assertSameVector(
  actual: Float32Array | undefined,
  expected: Float32Array | undefined,
  tolerance = 1e-4,
  label = "vector",
): void {
  assert.ok(actual && expected, `${label}: missing vector`);
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs((actual[i] as number) - (expected[i] as number));
    assert.ok(diff <= tolerance, `${label}: component ${i} differs by ${diff} (${actual[i]} vs ${expected[i]})`);
  }
}

function norm(v: Float32Array): number {
  return Math.sqrt(cosine(v, v));
}

/**
 * Registers the conformance suite for one backend. `factory` builds a fresh embedder (warmUp and
 * close are the suite's job).
 *
 * @example
 * describeDenseEmbedderConformance("hash", () => new HashEmbedder({ dimensions: 256 }));
 * describeDenseEmbedderConformance("use-lite", () => new UseLiteEmbedder({ batchSize: 8 }), { semantic: true });
 */
export function describeDenseEmbedderConformance(
  name: string,
  factory: () => DenseEmbedder | Promise<DenseEmbedder>,
  options: DenseEmbedderConformanceOptions = {},
): void {
  const tolerance = options.tolerance ?? 1e-4;
  // Every word here is in the tiny ONNX test model's vocabulary, so all backends can run the suite.
  const texts = [
    "hello world",
    "the dog sat on a mat",
    "how do i reset my password",
    "quarterly revenue grew by five percent",
  ];

  void describe(`DenseEmbedder conformance: ${name}`, () => {
    let embedder: DenseEmbedder;
    before(async () => {
      embedder = await factory();
      await embedder.warmUp();
    });
    after(async () => {
      await embedder.close();
    });

    void it("has a non-empty id and positive dimensions after warmUp", () => {
      assert.equal(typeof embedder.id, "string");
      assert.ok(embedder.id.length > 0);
      assert.ok(
        Number.isInteger(embedder.dimensions) && embedder.dimensions > 0,
        `dimensions = ${embedder.dimensions}`,
      );
    });

    void it("returns one vector per text, in input order", async () => {
      const batch = await embedder.embed(texts);
      assert.equal(batch.length, texts.length);
      for (const [i, text] of texts.entries()) {
        const [alone] = await embedder.embed([text]);
        assertSameVector(batch[i], alone, tolerance, `text ${i} (${text})`);
      }
      const reversed = await embedder.embed([...texts].reverse());
      for (const [i] of texts.entries())
        assertSameVector(reversed[texts.length - 1 - i], batch[i], tolerance, `reversed ${i}`);
    });

    void it("returns Float32Arrays of exactly `dimensions` entries", async () => {
      for (const v of await embedder.embed(texts)) {
        assert.ok(v instanceof Float32Array);
        assert.equal(v.length, embedder.dimensions);
      }
    });

    void it("returns unit-length vectors", async () => {
      for (const v of await embedder.embed(texts)) assert.ok(Math.abs(norm(v) - 1) < 1e-3, `norm = ${norm(v)}`);
    });

    void it("gives the same text the same vector, across calls and within a batch", async () => {
      const [a, b] = await embedder.embed(["the cat sat on the mat", "the cat sat on the mat"]);
      const [c] = await embedder.embed(["the cat sat on the mat"]);
      assertSameVector(a, b, tolerance, "within batch");
      assertSameVector(a, c, tolerance, "across calls");
    });

    void it("gives different texts different vectors", async () => {
      const [a, b] = await embedder.embed(["the cat sat on the mat", "quarterly revenue grew by five percent"]);
      assert.ok(a && b && cosine(a, b) < 0.99);
    });

    void it("answers an empty input with an empty array", async () => {
      assert.deepEqual(await embedder.embed([]), []);
    });

    void it("survives a second warmUp", async () => {
      await embedder.warmUp();
      assert.equal((await embedder.embed(["hello"])).length, 1);
    });

    void it("rejects when the signal is already aborted", async () => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(embedder.embed(["hello world"], { signal: controller.signal }), { name: "AbortError" });
    });

    void it("scores texts that share words above unrelated text", async () => {
      const [anchor, near, far] = await embedder.embed([
        "the cat sat on the mat",
        "a cat was sitting on a mat",
        "quarterly revenue grew by five percent",
      ]);
      assert.ok(anchor && near && far);
      assert.ok(
        cosine(anchor, near) > cosine(anchor, far),
        `near ${cosine(anchor, near)} <= far ${cosine(anchor, far)}`,
      );
    });

    if (options.semantic === true) {
      void it("scores paraphrases without shared words above unrelated text", async () => {
        const [anchor, near, far] = await embedder.embed([
          "Stock markets fell sharply today",
          "Shares plunged on Wall Street",
          "My grandmother bakes delicious apple pie",
        ]);
        assert.ok(anchor && near && far);
        assert.ok(
          cosine(anchor, near) > cosine(anchor, far) + 0.05,
          `near ${cosine(anchor, near)} vs far ${cosine(anchor, far)}`,
        );
      });
    }
  });
}
