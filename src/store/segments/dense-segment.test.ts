import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { SqliteIndexStore } from "../sqlite/sqlite-index-store.ts";
import { DenseSegment, DenseSegmentBuilder } from "./dense-segment.ts";
import { random, randomIndex } from "./segment-test-corpus.ts";

describe("DenseSegment", () => {
  let store: SqliteIndexStore;
  let segment: DenseSegment;
  before(async () => {
    store = await randomIndex(3, 800);
    const builder = new DenseSegmentBuilder(4);
    for await (const row of store.scanVectors("c")) builder.add(row.rowid, row.vector);
    segment = builder.build();
  });
  after(() => store.close());

  it("holds every live vector and finds what sqlite-vec finds, with the same cosine scores", async () => {
    const info = await store.getCollection("c");
    assert.equal(segment.rows, info!.chunks);
    const rand = random(5);
    for (let q = 0; q < 100; q++) {
      const vector = Float32Array.from({ length: 4 }, () => rand() - 0.5);
      const k = [1, 10, 50][q % 3]!;
      const expected = await store.searchDense("c", vector, k);
      const actual = segment.search(vector, k);
      assert.equal(actual.length, expected.length);
      actual.forEach((row, i) => assert.ok(Math.abs(row.score - expected[i]!.score) < 1e-5, `query ${q} rank ${i}`));
      assert.deepEqual(
        actual.slice(0, -1).map((r) => r.rowid),
        expected.slice(0, -1).map((r) => r.rowid),
        `query ${q}`,
      );
    }
  });

  it("the SIMD kernel and the JavaScript scan rank alike", () => {
    const rand = random(9);
    const builder = new DenseSegmentBuilder(16);
    const rows: Float32Array[] = [];
    for (let i = 0; i < 3000; i++) {
      rows.push(Float32Array.from({ length: 16 }, () => rand() - 0.5));
      builder.add(i + 1, rows[i]!);
    }
    const simd = builder.build();
    assert.equal(simd.simd, true);
    const unit = rows.map((v) => v.map((x) => x / Math.hypot(...v)));
    const js = new DenseSegment(
      16,
      Float64Array.from(rows, (_, i) => i + 1),
      Float32Array.from(unit.flatMap((v) => [...v])),
    );
    assert.equal(js.simd, false);
    for (let q = 0; q < 20; q++) {
      const query = Float32Array.from({ length: 16 }, () => rand() - 0.5);
      const a = simd.search(query, 10);
      const b = js.search(query, 10);
      assert.deepEqual(
        a.slice(0, 9).map((r) => r.rowid),
        b.slice(0, 9).map((r) => r.rowid),
      );
      a.forEach((r, i) => assert.ok(Math.abs(r.score - b[i]!.score) < 1e-5));
    }
  });

  it("names a vector of the wrong size", () => {
    assert.throws(() => segment.search(new Float32Array(3), 5), /3 dimensions; the segment holds 4/);
    assert.throws(() => new DenseSegmentBuilder(4).add(9, new Float32Array(2)), /row 9 has 2 dimensions/);
  });
});
