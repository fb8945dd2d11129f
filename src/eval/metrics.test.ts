import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mrrAt, ndcgAt, recallAt } from "./metrics.ts";

describe("retrieval metrics", () => {
  const judged = new Map([
    ["a", 2],
    ["b", 1],
    ["c", 0],
  ]);
  it("nDCG uses graded linear gains and an ideal ranking over all judged documents", () => {
    assert.equal(ndcgAt(["a", "b"], judged, 10), 1);
    const dcg = 1 / Math.log2(2) + 2 / Math.log2(3);
    const idcg = 2 / Math.log2(2) + 1 / Math.log2(3);
    assert.ok(Math.abs(ndcgAt(["b", "a"], judged, 10) - dcg / idcg) < 1e-12);
    assert.ok(Math.abs(ndcgAt(["x", "a"], judged, 10) - 2 / Math.log2(3) / idcg) < 1e-12);
    assert.equal(ndcgAt(["a"], new Map([["a", 0]]), 10), 0);
  });
  it("recall and MRR count only positive judgments within the cutoff", () => {
    assert.equal(recallAt(["c", "a"], judged, 10), 0.5);
    assert.equal(mrrAt(["c", "x", "b"], judged, 10), 1 / 3);
    assert.equal(mrrAt(["c", "x", "b"], judged, 2), 0);
  });
});
