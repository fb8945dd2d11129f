import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { convex, rrf } from "./fusion.ts";

const list = (name: string, weight: number, rows: Array<[number, number]>) => ({
  name,
  weight,
  rows: rows.map(([rowid, score]) => ({ rowid, score })),
});

describe("fusion", () => {
  it("rrf sums weighted reciprocal ranks", () => {
    const fused = rrf(
      [
        list("a", 1, [
          [1, 9],
          [2, 8],
        ]),
        list("b", 0.5, [
          [2, 0.9],
          [3, 0.1],
        ]),
      ],
      60,
    );
    assert.deepEqual(
      fused.map((r) => r.rowid),
      [2, 1, 3],
    );
    assert.ok(Math.abs(fused[0]!.score - (1 / 62 + 0.5 / 61)) < 1e-12);
  });

  it("convex mixes min-max normalised scores by normalised weights", () => {
    const fused = convex([
      list("lex", 0.65, [
        [1, 10],
        [2, 5],
        [3, 0],
      ]),
      list("dense", 0.35, [
        [3, 0.9],
        [2, 0.5],
        [1, 0.1],
      ]),
    ]);
    const score = new Map(fused.map((r) => [r.rowid, r.score]));
    assert.ok(Math.abs(score.get(1)! - 0.65) < 1e-9);
    assert.ok(Math.abs(score.get(3)! - 0.35) < 1e-9);
    assert.ok(Math.abs(score.get(2)! - (0.65 * 0.5 + 0.35 * 0.5)) < 1e-9);
    assert.deepEqual(
      fused.map((r) => r.rowid),
      [1, 2, 3],
    );
  });

  it("a list with zero weight does not count", () => {
    assert.deepEqual(
      rrf([list("a", 1, [[1, 1]]), list("b", 0, [[2, 1]])]).map((r) => r.rowid),
      [1],
    );
  });
});
