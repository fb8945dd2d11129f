import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Chunk, DenseVectors, ParsedDocument } from "../contracts/index.ts";
import { analyze } from "../text/analyzer.ts";
import { contentHash } from "../text/content-hash.ts";
import type { IndexStore, WriteDocumentInput } from "./index-store.ts";

const DIMS = 4;

function unit(values: number[]): Float32Array {
  const norm = Math.hypot(...values);
  return Float32Array.from(values.map((v) => v / norm));
}

/** A document whose chunks are the given texts, with one dense vector per chunk. */
export function documentInput(
  id: string,
  texts: string[],
  vectors?: number[][],
  model = "test-model",
  meta: Record<string, unknown> = {},
): WriteDocumentInput {
  const text = texts.join("\n\n");
  const document: ParsedDocument = {
    id,
    source: `${id}.txt`,
    title: id,
    text,
    mediaType: "text/plain",
    contentHash: contentHash(id, JSON.stringify(meta) + text),
    meta,
  };
  let at = 0;
  const chunks: Chunk[] = texts.map((t, ordinal) => {
    const chunk = { id: `${id}#${ordinal}`, docId: id, ordinal, text: t, start: at, end: at + t.length };
    at += t.length + 2;
    return chunk;
  });
  const dense: DenseVectors | undefined = vectors ? { model, dimensions: DIMS, vectors: vectors.map(unit) } : undefined;
  const sparse = { model: "tf", vectors: texts.map((t) => Object.fromEntries(analyze(t).map((term) => [term, 1]))) };
  return { document, chunks, lexical: texts.map((t) => analyze(t)), sparse, ...(dense ? { dense } : {}) };
}

/**
 * The behaviour every IndexStore adapter must show. Run it from each adapter's test file.
 *
 * @example
 * describeIndexStoreConformance("sqlite", async () => new SqliteIndexStore(join(dir, "index.db")));
 */
export function describeIndexStoreConformance(name: string, factory: () => Promise<IndexStore>): void {
  describe(`IndexStore conformance: ${name}`, () => {
    let store: IndexStore;
    before(async () => {
      store = await factory();
      await store.open();
    });
    after(async () => store.close());

    it("ping answers while the store is open and fails before and after", async () => {
      const other = await factory();
      await assert.rejects(other.ping());
      await other.open();
      await other.ping();
      await other.ensureCollection("c-ping");
      await other.ping();
      await other.close();
      await assert.rejects(other.ping());
    });

    it("creates collections on demand and reports their counts", async () => {
      const info = await store.ensureCollection("c-basic");
      assert.equal(info.name, "c-basic");
      assert.equal(info.documents, 0);
      assert.equal(await store.getCollection("c-missing"), null);
      await assert.rejects(store.ensureCollection("bad name!"), { code: "COLLECTION_INVALID" });
      await assert.rejects(store.searchLexical("c-missing", ["x"], 5), { code: "COLLECTION_NOT_FOUND" });
    });

    it("is idempotent by content hash and replaces changed documents in every index", async () => {
      const first = documentInput(
        "doc",
        ["alpha bravo charlie", "delta echo foxtrot"],
        [
          [1, 0, 0, 0],
          [0, 1, 0, 0],
        ],
      );
      assert.equal((await store.writeDocument("c-idem", first)).outcome, "inserted");
      assert.equal((await store.writeDocument("c-idem", first)).outcome, "unchanged");
      assert.equal((await store.getCollection("c-idem"))!.chunks, 2);

      const changed = documentInput("doc", ["golf hotel india"], [[0, 0, 1, 0]]);
      assert.equal((await store.writeDocument("c-idem", changed)).outcome, "replaced");
      const info = (await store.getCollection("c-idem"))!;
      assert.deepEqual([info.documents, info.chunks], [1, 1]);
      assert.equal(
        (await store.searchLexical("c-idem", ["alpha"], 5)).length,
        0,
        "old chunk gone from the lexical index",
      );
      assert.equal(
        (await store.searchSparse("c-idem", { delta: 1 }, 5)).length,
        0,
        "old chunk gone from the sparse index",
      );
      const dense = await store.searchDense("c-idem", unit([1, 0, 0, 0]), 5);
      assert.equal(dense.length, 1, "old vectors gone from the dense index");
      const chunks = await store.getChunks(
        "c-idem",
        dense.map((d) => d.rowid),
      );
      assert.equal([...chunks.values()][0]!.text, "golf hotel india");
    });

    it("finds documents by lexical, dense and sparse search, best first", async () => {
      await store.writeDocument(
        "c-search",
        documentInput("a", ["the resume command restarts failed jobs"], [[1, 0, 0, 0]]),
      );
      await store.writeDocument("c-search", documentInput("b", ["cancel stops work between stages"], [[0, 1, 0, 0]]));
      await store.writeDocument(
        "c-search",
        documentInput("c", ["resume resume resume everything"], [[0.9, 0.1, 0, 0]]),
      );
      const lexical = await store.searchLexical("c-search", analyze("resume failed jobs"), 10);
      const byRow = await store.getChunks(
        "c-search",
        lexical.map((r) => r.rowid),
      );
      assert.equal(byRow.get(lexical[0]!.rowid)!.docId, "a");
      assert.ok(!lexical.some((r) => byRow.get(r.rowid)!.docId === "b"));
      assert.ok(lexical[0]!.score >= lexical[lexical.length - 1]!.score);

      const dense = await store.searchDense("c-search", unit([0, 1, 0, 0]), 3);
      assert.equal((await store.getChunks("c-search", [dense[0]!.rowid])).get(dense[0]!.rowid)!.docId, "b");
      assert.ok(dense[0]!.score > 0.99);

      const sparse = await store.searchSparse("c-search", { cancel: 2 }, 3);
      assert.equal(sparse.length, 1);
      const stats = await store.sparseStats("c-search", ["resume", "nothing"]);
      assert.deepEqual([stats.chunks, stats.df.get("resume"), stats.df.get("nothing")], [3, 2, 0]);
    });

    it("keeps collections apart", async () => {
      await store.writeDocument("c-one", documentInput("x", ["zulu only here"]));
      await store.writeDocument("c-two", documentInput("y", ["yankee only here"]));
      assert.equal((await store.searchLexical("c-one", ["yankee"], 5)).length, 0);
      assert.equal((await store.searchLexical("c-two", ["yankee"], 5)).length, 1);
    });

    it("deletes a document from every index", async () => {
      await store.writeDocument("c-del", documentInput("gone", ["kilo lima mike"], [[0, 0, 0, 1]]));
      await store.writeDocument("c-del", documentInput("kept", ["november oscar"], [[0, 0, 1, 0]]));
      assert.equal(await store.deleteDocument("c-del", "gone"), true);
      assert.equal(await store.deleteDocument("c-del", "gone"), false);
      assert.equal((await store.searchLexical("c-del", ["kilo"], 5)).length, 0);
      assert.equal((await store.searchSparse("c-del", { kilo: 1 }, 5)).length, 0);
      const dense = await store.searchDense("c-del", unit([0, 0, 0, 1]), 5);
      assert.deepEqual(
        [
          ...(
            await store.getChunks(
              "c-del",
              dense.map((d) => d.rowid),
            )
          ).values(),
        ].map((c) => c.docId),
        ["kept"],
      );
      assert.equal(await store.documentHash("c-del", "gone"), null);
      assert.equal((await store.getCollection("c-del"))!.documents, 1);
    });

    it("lists documents by id, title or source (wildcards literal), in pages, and gives a document's chunks in order", async () => {
      await store.writeDocument(
        "c-list",
        documentInput("alpha", ["one alpha", "two alpha", "three alpha"], undefined, "m", { year: 2020 }),
      );
      await store.writeDocument("c-list", documentInput("beta_1", ["one beta"]));
      await store.writeDocument("c-list", documentInput("gamma", ["one gamma"]));
      const all = await store.listDocuments("c-list", { limit: 10, offset: 0 });
      assert.equal(all.total, 3);
      assert.deepEqual(
        all.documents.map((d) => [d.docId, d.chunks, d.source, d.mediaType]),
        [
          ["alpha", 3, "alpha.txt", "text/plain"],
          ["beta_1", 1, "beta_1.txt", "text/plain"],
          ["gamma", 1, "gamma.txt", "text/plain"],
        ],
      );
      assert.deepEqual(all.documents[0]!.meta, { year: 2020 });
      assert.match(all.documents[0]!.contentHash, /^[0-9a-f]{16,}$/);
      assert.ok(!Number.isNaN(Date.parse(all.documents[0]!.updatedAt)));
      const page = await store.listDocuments("c-list", { limit: 1, offset: 1 });
      assert.deepEqual([page.total, page.documents.map((d) => d.docId)], [3, ["beta_1"]]);
      const found = await store.listDocuments("c-list", { contains: "ALP", limit: 10, offset: 0 });
      assert.deepEqual([found.total, found.documents.map((d) => d.docId)], [1, ["alpha"]]);
      // "_" and "%" match themselves, not any character.
      const literal = await store.listDocuments("c-list", { contains: "a_1", limit: 10, offset: 0 });
      assert.deepEqual([literal.total, literal.documents.map((d) => d.docId)], [1, ["beta_1"]]);
      assert.equal((await store.listDocuments("c-list", { contains: "%", limit: 10, offset: 0 })).total, 0);

      const chunks = await store.documentChunks("c-list", "alpha");
      assert.deepEqual(
        chunks.map((c) => [c.ordinal, c.text, c.chunkId, c.docId]),
        [
          [0, "one alpha", "alpha#0", "alpha"],
          [1, "two alpha", "alpha#1", "alpha"],
          [2, "three alpha", "alpha#2", "alpha"],
        ],
      );
      const byRowid = await store.getChunks("c-list", [chunks[1]!.rowid]);
      assert.equal(byRowid.get(chunks[1]!.rowid)?.text, "two alpha", "rowids are the ones searches give");
      assert.deepEqual(await store.documentChunks("c-list", "nope"), []);
      await assert.rejects(store.listDocuments("c-none", { limit: 1, offset: 0 }), { code: "COLLECTION_NOT_FOUND" });
    });

    it("refuses vectors from a different embedder in the same collection", async () => {
      await store.writeDocument("c-emb", documentInput("one", ["papa quebec"], [[1, 0, 0, 0]], "model-a"));
      await assert.rejects(
        store.writeDocument("c-emb", documentInput("two", ["romeo sierra"], [[1, 0, 0, 0]], "model-b")),
        { code: "EMBEDDER_MISMATCH" },
      );
      assert.equal((await store.getCollection("c-emb"))!.documents, 1, "the refused write left nothing behind");
    });

    it("drops a collection with everything in it", async () => {
      await store.writeDocument("c-drop", documentInput("d", ["tango uniform"], [[1, 0, 0, 0]]));
      assert.equal(await store.dropCollection("c-drop"), true);
      assert.equal(await store.getCollection("c-drop"), null);
      await store.writeDocument("c-drop", documentInput("d", ["victor whiskey"], [[1, 0, 0, 0]]));
      assert.equal((await store.searchLexical("c-drop", ["tango"], 5)).length, 0);
    });

    it("bumps the version on every change, and scans what is live", async () => {
      const v0 = (await store.ensureCollection("c-ver")).version;
      const a = documentInput(
        "a",
        ["xray yankee", "zulu"],
        [
          [1, 0, 0, 0],
          [0, 1, 0, 0],
        ],
      );
      await store.writeDocument("c-ver", a);
      const v1 = (await store.getCollection("c-ver"))!.version;
      assert.ok(v1 > v0, "a write bumps the version");
      await store.writeDocument("c-ver", a);
      assert.equal((await store.getCollection("c-ver"))!.version, v1, "an unchanged document changes nothing");
      await store.writeDocument("c-ver", documentInput("b", ["alpha"], [[0, 0, 1, 0]]));
      await store.deleteDocument("c-ver", "a");
      assert.ok((await store.getCollection("c-ver"))!.version > v1 + 1, "a write and a delete bump it again");
      const chunks: string[] = [];
      for await (const c of store.scanChunks("c-ver")) chunks.push(c.text);
      assert.deepEqual(chunks, ["alpha"]);
      const vectors: number[][] = [];
      for await (const v of store.scanVectors("c-ver")) vectors.push([...v.vector]);
      assert.deepEqual(vectors, [[0, 0, 1, 0]]);
      const totals = await store.lexicalTotals("c-ver");
      assert.ok(totals.rows >= 1 && totals.tokens >= 1, JSON.stringify(totals));
    });

    it("filters on document metadata inside each search: k rows come back whenever k match", async () => {
      // 40 documents, all about "archive"; the filtered ones rank last in every list.
      for (let i = 0; i < 40; i++) {
        const even = i % 2 === 0;
        const text = even ? "archive archive archive tape" : `archive note ${i}`;
        const vector = even ? [1, 0.01 * i, 0, 0] : [0.2, 1, 0.01 * i, 0];
        await store.writeDocument(
          "c-filter",
          documentInput(`d${i}`, [text], [vector], "test-model", { year: 2000 + i, odd: !even }),
        );
      }
      const filter = { odd: true, year: { gte: 2010 } };
      const matching = await store.matchingRows("c-filter", filter);
      assert.equal(matching.length, 15);
      assert.deepEqual(
        matching,
        [...matching].sort((a, b) => a - b),
      );
      const isMatch = (rows: Array<{ rowid: number }>) => rows.every((r) => matching.includes(r.rowid));
      const lexical = await store.searchLexical("c-filter", ["archive"], 5, filter);
      assert.equal(lexical.length, 5);
      assert.ok(isMatch(lexical));
      const dense = await store.searchDense("c-filter", unit([1, 0, 0, 0]), 5, filter);
      assert.equal(dense.length, 5);
      assert.ok(isMatch(dense));
      const unfiltered = await store.searchDense("c-filter", unit([1, 0, 0, 0]), 40);
      const expected = unfiltered.filter((r) => matching.includes(r.rowid)).slice(0, 5);
      assert.deepEqual(
        dense.map((r) => r.rowid),
        expected.map((r) => r.rowid),
        "the nearest matching rows, in order",
      );
      const sparse = await store.searchSparse("c-filter", { archive: 1 }, 5, filter);
      assert.equal(sparse.length, 5);
      assert.ok(isMatch(sparse));
      assert.deepEqual(await store.searchLexical("c-filter", ["archive"], 5, { odd: "yes" }), []);
      assert.deepEqual(await store.matchingRows("c-filter", { nosuchfield: 1 }), []);
    });
  });
}
