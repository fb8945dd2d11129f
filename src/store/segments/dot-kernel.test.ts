import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DotKernel } from "./dot-kernel.ts";
import { random } from "./segment-test-corpus.ts";

describe("DotKernel", () => {
  for (const dims of [8, 24, 256, 768]) {
    it(`computes every dot product of ${dims}-d vectors as a plain loop does`, () => {
      const rows = 1_003;
      const kernel = DotKernel.create(dims, rows);
      assert.ok(kernel, "WebAssembly SIMD is available in every Node Sluice supports");
      const rand = random(dims);
      for (let i = 0; i < kernel.vectors.length; i++) kernel.vectors[i] = rand() - 0.5;
      for (let round = 0; round < 3; round++) {
        const query = Float32Array.from({ length: dims }, () => rand() - 0.5);
        const scores: Float32Array = kernel.scores(query);
        assert.equal(scores.length, rows);
        for (let r = 0; r < rows; r++) {
          let expected = 0;
          for (let j = 0; j < dims; j++) expected += kernel.vectors[r * dims + j]! * query[j]!;
          assert.ok(Math.abs(scores[r]! - expected) < 1e-5, `row ${r}: ${scores[r]} vs ${expected}`);
        }
      }
    });
  }

  it("declines dimensions it cannot run (not a multiple of 8): the caller scans in JavaScript", () => {
    assert.equal(DotKernel.create(4, 10), null);
    assert.equal(DotKernel.create(0, 10), null);
    assert.equal(DotKernel.create(100, 10), null);
  });

  it("holds zero rows", () => {
    assert.equal(DotKernel.create(8, 0)!.scores(new Float32Array(8)).length, 0);
  });
});
