import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { analyze } from "../../text/analyzer.ts";
import type { ScoredRow } from "../index-store.ts";
import type { SqliteIndexStore } from "../sqlite/sqlite-index-store.ts";
import { LexicalSegment, LexicalSegmentBuilder } from "./lexical-segment.ts";
import { random, randomIndex, VOCABULARY, words } from "./segment-test-corpus.ts";

async function segmentOf(store: SqliteIndexStore): Promise<LexicalSegment> {
  const builder = new LexicalSegmentBuilder();
  for await (const chunk of store.scanChunks("c")) builder.add(chunk.rowid, analyze(chunk.text));
  return builder.build(await store.lexicalTotals("c"));
}

/** Equal up to ties: the same scores in order, and every row above the last score in both. */
function assertSameRanking(actual: ScoredRow[], expected: ScoredRow[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} rows, FTS5 ${expected.length}`);
  actual.forEach((row, i) => assert.ok(Math.abs(row.score - expected[i]!.score) < 1e-9, `${what}: score ${i}`));
  const last = expected.at(-1)?.score ?? 0;
  const sure = (rows: ScoredRow[]) =>
    rows
      .filter((r) => r.score > last + 1e-9)
      .map((r) => r.rowid)
      .sort();
  assert.deepEqual(sure(actual), sure(expected), what);
}

describe("LexicalSegment", () => {
  let store: SqliteIndexStore;
  let segment: LexicalSegment;
  before(async () => {
    store = await randomIndex(7, 1500);
    segment = await segmentOf(store);
  });
  after(() => store.close());

  it("ranks as FTS5's bm25() does, over 300 random queries and k from 1 to 200", async () => {
    const rand = random(11);
    for (let q = 0; q < 300; q++) {
      const query = words(rand, VOCABULARY, 1 + Math.floor(rand() * 6));
      const k = [1, 3, 10, 50, 200][q % 5]!;
      const terms = analyze(query);
      assertSameRanking(segment.search(terms, k)!, await store.searchLexical("c", terms, k), `"${query}" k=${k}`);
    }
  });

  it("counts deleted and replaced documents out, as FTS5 does", async () => {
    // The corpus deleted every 13th document and replaced every 7th ("generation" is only in those).
    const terms = analyze("generation 1");
    const expected = await store.searchLexical("c", terms, 500);
    assert.ok(expected.length > 50);
    assertSameRanking(segment.search(terms, 500)!, expected, "generation 1");
  });

  it("answers nothing for unknown terms and k = 0, and defers FTS5 phrases", () => {
    assert.deepEqual(segment.search(["nosuchterm"], 10), []);
    assert.deepEqual(segment.search(analyze("w1x w2x"), 0), []);
    // FTS5 reads "3.14" as the phrase "3 14"; the segment has no positions, so FTS5 answers it.
    assert.equal(segment.search(["3.14"], 10), null);
  });

  it("prunes: once the top k hold the rare term, documents with only the common one are not scored", () => {
    const builder = new LexicalSegmentBuilder();
    for (let i = 0; i < 10_000; i++) builder.add(i + 1, i % 1000 === 0 ? ["common", "rare"] : ["common", `x${i}`]);
    const segment = builder.build();
    const work = { scored: 0 };
    const rows = segment.search(["rare", "common"], 5, work);
    assert.deepEqual(
      rows!.map((r) => r.rowid),
      [1, 1001, 2001, 3001, 4001],
    );
    // Once five documents are held, "common" alone cannot beat them: only "rare" is walked on.
    assert.ok(work.scored < 20, `scored ${work.scored} of 10,000`);
    const all = { scored: 0 };
    segment.search(["common"], 10_000, all);
    assert.equal(all.scored, 10_000);
  });
});
