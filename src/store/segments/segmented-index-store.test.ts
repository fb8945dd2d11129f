import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { analyze } from "../../text/analyzer.ts";
import { describeIndexStoreConformance, documentInput } from "../index-store.conformance.ts";
import type { ScoredRow } from "../index-store.ts";
import { SqliteIndexStore } from "../sqlite/sqlite-index-store.ts";
import { buildSegments, type SegmentStats } from "./build-segments.ts";
import { SegmentedIndexStore } from "./segmented-index-store.ts";

/** The same rows in the same order with the same scores, up to the last bit of a double. */
function assertSameRows(actual: ScoredRow[], expected: ScoredRow[]): void {
  assert.deepEqual(
    actual.map((r) => r.rowid),
    expected.map((r) => r.rowid),
  );
  actual.forEach((r, i) => assert.ok(Math.abs(r.score - expected[i]!.score) < 1e-9));
}

describeIndexStoreConformance(
  "sqlite behind search segments",
  async () =>
    new SegmentedIndexStore(new SqliteIndexStore(join(mkdtempSync(join(tmpdir(), "sluice-seg-")), "index.db")), {
      quietMs: 0,
    }),
);

describe("SegmentedIndexStore", () => {
  const path = join(mkdtempSync(join(tmpdir(), "sluice-seg-")), "index.db");
  // The writer is another connection, as ingest is another thread or process than the readers.
  const writer = new SqliteIndexStore(path);
  const built: Array<[string, SegmentStats]> = [];
  const inner = new SqliteIndexStore(path);
  const reader = new SegmentedIndexStore(inner, {
    quietMs: 200,
    // Small slices: queries interleave with the build many times.
    build: (collection) => buildSegments(inner, collection, { sliceRows: 16 }),
    onBuilt: (collection, stats) => built.push([collection, stats]),
  });
  const vector = (i: number) => [Math.cos(i), Math.sin(i), 0.5, 0.25];
  const lexical = (q: string) => reader.searchLexical("c", analyze(q), 5);

  before(async () => {
    await writer.open();
    await reader.open();
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        writer.writeDocument("c", documentInput(`d${i}`, [`alpha beta number${i}`], [vector(i)])),
      ),
    );
  });
  after(async () => {
    await reader.close();
    await writer.close();
  });

  it("warm() builds the collection's segments, which then answer as the index does", async () => {
    await reader.warm();
    const stats = reader.stats().get("c");
    assert.equal(stats?.documents, 100);
    assert.equal(stats?.vectors, 100);
    const terms = analyze("number7 alpha");
    assertSameRows(await reader.searchLexical("c", terms, 3), await writer.searchLexical("c", terms, 3));
    const q = Float32Array.from(vector(7));
    assert.deepEqual(
      (await reader.searchDense("c", q, 3)).map((r) => r.rowid),
      (await writer.searchDense("c", q, 3)).map((r) => r.rowid),
    );
  });

  it("answers a changed collection from the index at once, and rebuilds once it has been quiet", async () => {
    const before = reader.stats().get("c")!.key;
    await writer.writeDocument("c", documentInput("new", ["gamma number7"], [vector(7)]));
    // Not stale for a moment: the new document is found by the very next query.
    const [first] = await lexical("gamma");
    assert.ok(first, "the new document is found at once");
    assert.equal(reader.stats().get("c")!.key, before, "no rebuild before the version has held for quietMs");
    await sleep(250);
    await lexical("gamma"); // seen quiet for 250 ms: starts the build
    for (let i = 0; i < 100 && reader.stats().get("c")!.key === before; i++) await sleep(20);
    assert.notEqual(reader.stats().get("c")!.key, before);
    assert.equal(reader.stats().get("c")!.documents, 101);
    assertSameRows(await lexical("gamma"), await writer.searchLexical("c", ["gamma"], 5));
    assert.ok(built.length >= 2);
  });

  it("filters inside the segments as the index does, k rows whenever k match", async () => {
    await writer.writeDocument("c", documentInput("tagged-a", ["alpha rare"], [vector(3)], "test-model", { tag: "x" }));
    await writer.writeDocument("c", documentInput("tagged-b", ["beta"], [vector(4)], "test-model", { tag: "x", n: 2 }));
    await reader.warm();
    const key = reader.stats().get("c")!.key;
    const filter = { tag: "x" };
    const lex = await reader.searchLexical("c", analyze("alpha beta"), 5, filter);
    assertSameRows(lex, await writer.searchLexical("c", analyze("alpha beta"), 5, filter));
    assert.equal(lex.length, 2);
    const q = Float32Array.from(vector(7));
    const dense = await reader.searchDense("c", q, 5, { n: { gte: 2 } });
    assert.deepEqual(
      dense.map((r) => r.rowid),
      (await writer.searchDense("c", q, 5, { n: { gte: 2 } })).map((r) => r.rowid),
    );
    assert.equal(dense.length, 1);
    assert.equal(reader.stats().get("c")!.key, key, "answered from the same segments");
    await writer.deleteDocument("c", "tagged-a");
    await writer.deleteDocument("c", "tagged-b");
  });

  it("never answers a deleted document from a segment", async () => {
    await reader.warm();
    await writer.deleteDocument("c", "new");
    assert.deepEqual(await lexical("gamma"), []);
  });

  it("a dropped and re-created collection is not answered from the old one's segments", async () => {
    await reader.warm();
    await writer.dropCollection("c");
    await writer.writeDocument("c", documentInput("only", ["delta"], [vector(1)]));
    assert.deepEqual(await lexical("alpha"), []);
    assert.equal((await lexical("delta")).length, 1);
  });
});
