import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DenseSegment, DenseSegmentBuilder } from "./dense-segment.ts";
import { trainIvf } from "./ivf.ts";
import { seededRandom } from "./seeded-random.ts";

const DIMS = 32;

/** Rows drawn around `clusters` random centres (a Gaussian-ish mixture), unit length, rowids 1, 3, 5, … */
function clustered(rows: number, clusters: number, seed = 7): { rowids: number[]; vectors: Float32Array[] } {
  const random = seededRandom(seed);
  const gauss = () => (random() + random() + random() + random() - 2) / 2;
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: DIMS }, gauss));
  const vectors = Array.from({ length: rows }, () => {
    const centre = centres[Math.floor(random() * clusters)]!;
    const v = Float32Array.from(centre, (c) => c + gauss() * 0.35);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
  return { rowids: vectors.map((_, i) => 2 * i + 1), vectors };
}

function segment(data: ReturnType<typeof clustered>, ann?: { minVectors: number; lists: number; probes: number }) {
  const builder = new DenseSegmentBuilder(DIMS);
  data.vectors.forEach((v, i) => builder.add(data.rowids[i]!, v));
  return builder.build(ann);
}

const rowsOf = (hits: Array<{ rowid: number }>) => hits.map((h) => h.rowid);

void describe("IVF dense segments (retrieval.segments.ann)", () => {
  const data = clustered(3000, 24);
  const queries = clustered(50, 24, 99).vectors;
  const exact = segment(data);
  const ivf = segment(data, { minVectors: 1000, lists: 0, probes: 0 });

  void it("trainIvf puts every row in exactly one list, the list of its nearest centroid", () => {
    const flat = new Float32Array(data.vectors.length * DIMS);
    data.vectors.forEach((v, i) => flat.set(v, i * DIMS));
    const layout = trainIvf(flat, data.vectors.length, DIMS, { lists: 0 })!;
    const lists = layout.listStart.length - 1;
    assert.equal(lists, Math.round(Math.sqrt(3000)));
    assert.deepEqual(
      [...layout.order].sort((a, b) => a - b),
      [...Array(3000).keys()],
    );
    for (let l = 0; l < lists; l++) {
      assert.ok(layout.listStart[l]! <= layout.listStart[l + 1]!);
      for (let p = layout.listStart[l]!; p < layout.listStart[l + 1]!; p++) {
        const v = data.vectors[layout.order[p]!]!;
        const dot = (c: number) => v.reduce((s, x, j) => s + x * layout.centroids[c * DIMS + j]!, 0);
        const mine = dot(l);
        for (let c = 0; c < lists; c++) assert.ok(dot(c) <= mine + 1e-5, `row ${layout.order[p]} is nearer list ${c}`);
      }
    }
  });

  void it("is built only from minVectors up, and scanning every list finds exactly what the exact scan finds", () => {
    assert.equal(exact.ann, null);
    assert.equal(segment(data, { minVectors: 3001, lists: 0, probes: 0 }).ann, null);
    assert.deepEqual(ivf.ann, { lists: 55, probes: 8 });
    for (const q of queries) assert.deepEqual(ivf.search(q, 10, undefined, 55), exact.search(q, 10));
  });

  void it("finds most of the exact top 10 scanning a few lists, more with more", () => {
    const recall = (probes: number) => {
      let found = 0;
      for (const q of queries) {
        const truth = new Set(rowsOf(exact.search(q, 10)));
        found += rowsOf(ivf.search(q, 10, undefined, probes)).filter((r) => truth.has(r)).length;
      }
      return found / (queries.length * 10);
    };
    const [one, eight, all] = [recall(1), recall(8), recall(55)];
    assert.ok(one < eight, `recall grows with probes: ${one} → ${eight}`);
    assert.ok(eight >= 0.9, `recall@10 with 8 of 55 lists: ${eight}`);
    assert.equal(all, 1);
  });

  void it("a filtered query is exact, whatever lists its rows are in", () => {
    const wanted = data.rowids.filter((r) => r % 7 === 0);
    for (const q of queries.slice(0, 10))
      assert.deepEqual(ivf.search(q, 10, ivf.maskOf(wanted)), exact.search(q, 10, exact.maskOf(wanted)));
  });

  void it("crosses threads whole: the same answers from the wire copy", () => {
    const copy = DenseSegment.fromWire(ivf.toWire());
    assert.deepEqual(copy.ann, ivf.ann);
    for (const q of queries.slice(0, 10)) assert.deepEqual(copy.search(q, 10), ivf.search(q, 10));
  });
});
