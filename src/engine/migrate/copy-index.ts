import { SluiceError } from "../../contracts/errors.ts";
import type { Chunk, DenseVectors, ParsedDocument, SparseVectors } from "../../contracts/index.ts";
import type { IndexStore, WriteDocumentInput } from "../../store/index-store.ts";
import { analyze } from "../../text/analyzer.ts";
import type { EmbeddedSource, SourceCollection, SourceDocument } from "./embedded-source.ts";

/** Rows copied by this run, and rows the target held already (an earlier, interrupted run). */
export interface CopyCounts {
  copied: number;
  skipped: number;
}

/** What one collection's copy did. */
export interface CollectionCopyReport {
  collection: string;
  documents: CopyCounts;
  chunks: CopyCounts;
  vectors: CopyCounts;
}

/** Told after each document: how far the collection's copy is. */
export type DocumentProgressFn = (p: { collection: string; done: number; total: number; skipped: number }) => void;

// The embedded index does not store which sparse encoder wrote its weights, and no index reads
// that name back (the weights are all a search uses): the copy names them with this constant.
export const MIGRATED_SPARSE_MODEL = "migrated";

const PAGE = 256;

/**
 * The index write of one stored document: its chunks, their vectors and sparse weights as stored,
 * and their lexical terms re-derived with `analyze` (what the index stage does: the embedded FTS5
 * table cannot give its terms back).
 */
function writeInput(source: EmbeddedSource, collection: SourceCollection, doc: SourceDocument): WriteDocumentInput {
  const rows = source.chunks(collection.id, doc.docId);
  const rowids = rows.map((r) => r.rowid);
  const chunks: Chunk[] = rows.map((r) => ({
    id: r.chunkId,
    docId: doc.docId,
    ordinal: r.ordinal,
    text: r.text,
    start: r.start,
    end: r.end,
    ...(r.page !== null ? { page: r.page } : {}),
  }));
  const document: ParsedDocument = {
    id: doc.docId,
    source: doc.source,
    title: doc.title,
    // The document's text is not kept in the index (its chunks are), and no index write reads it.
    text: "",
    mediaType: doc.mediaType,
    contentHash: doc.contentHash,
    meta: JSON.parse(doc.meta) as Record<string, unknown>,
  };
  const input: WriteDocumentInput = { document, chunks, lexical: chunks.map((c) => analyze(c.text)) };

  const vectors = source.vectors(collection, rowids);
  if (vectors.size > 0) {
    if (vectors.size !== rows.length || collection.embedder === null || collection.dimensions === null)
      throw new SluiceError(
        "INTERNAL",
        `document "${doc.docId}" of collection "${collection.name}" has vectors for ${vectors.size} of its ${rows.length} chunks in ${source.dataDir}/index.db; re-ingest it there, then migrate again`,
        { details: { collection: collection.name, docId: doc.docId } },
      );
    const dense: DenseVectors = {
      model: collection.embedder,
      dimensions: collection.dimensions,
      vectors: rowids.map((id) => vectors.get(id)!),
    };
    input.dense = dense;
  }
  const sparse = source.sparse(collection.id, rowids);
  if (sparse.size > 0) {
    const weights: SparseVectors = {
      model: MIGRATED_SPARSE_MODEL,
      vectors: rowids.map((id) => sparse.get(id) ?? {}),
    };
    input.sparse = weights;
  }
  return input;
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/**
 * Copies one collection of the embedded index into `target`, document by document. A document
 * the target holds already with the same content hash is skipped before its vectors are read, so
 * a second run after an interruption copies only the rest; each document is written in one
 * transaction, so an interruption never leaves half of one.
 *
 * @example
 * const report = await copyCollection(source, target.index, collection, { concurrency: 4 });
 * // { collection: "default", documents: { copied: 120, skipped: 0 }, chunks: …, vectors: … }
 */
export async function copyCollection(
  source: EmbeddedSource,
  target: IndexStore,
  collection: SourceCollection,
  options: { concurrency?: number; onDocument?: DocumentProgressFn } = {},
): Promise<CollectionCopyReport> {
  const report: CollectionCopyReport = {
    collection: collection.name,
    documents: { copied: 0, skipped: 0 },
    chunks: { copied: 0, skipped: 0 },
    vectors: { copied: 0, skipped: 0 },
  };
  // Empty collections move too; an existing one is left as it is.
  await target.ensureCollection(collection.name);
  const hasVectors = collection.embedder !== null;
  let done = 0;
  for (let after = ""; ;) {
    const page = source.documentsAfter(collection.id, after, PAGE);
    await eachLimited(page, options.concurrency ?? 4, async (doc) => {
      const stored = await target.documentHash(collection.name, doc.docId);
      let outcome = "unchanged";
      if (stored !== doc.contentHash) {
        const input = writeInput(source, collection, doc);
        outcome = (await target.writeDocument(collection.name, input)).outcome;
      }
      const counts = outcome === "unchanged" ? "skipped" : "copied";
      report.documents[counts]++;
      report.chunks[counts] += doc.chunkCount;
      if (hasVectors) report.vectors[counts] += doc.chunkCount;
      done++;
      options.onDocument?.({
        collection: collection.name,
        done,
        total: collection.documents,
        skipped: report.documents.skipped,
      });
    });
    if (page.length < PAGE) return report;
    after = page[page.length - 1]!.docId;
  }
}
