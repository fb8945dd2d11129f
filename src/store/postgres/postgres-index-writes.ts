import type { PoolClient } from "pg";
import { SluiceError } from "../../contracts/errors.ts";
import type { IndexResult } from "../../contracts/index.ts";
import type { WriteDocumentInput } from "../index-store.ts";
import { createVectorTable, type HnswBuild, vectorTable } from "./schema.ts";

/** A row of `index_collections` (bigints as numbers: ids and counts stay far below 2^53). */
export interface PgCollectionRow {
  id: number;
  name: string;
  embedder: string | null;
  dimensions: number | null;
  created_at: string;
  version: number;
  documents: number;
  chunks: number;
  tokens: number;
}

/** What a write needs besides the document: the vector extension's schema and the HNSW build. */
export interface WriteContext {
  ext: string;
  hnsw: HnswBuild;
}

/** pgvector's text form of a vector: `[0.1,0.2]`. */
export const vectorLiteral = (v: Float32Array): string => `[${v.join(",")}]`;

/** Term frequencies of one chunk's analyzed terms. */
function termFrequencies(terms: readonly string[]): Map<string, number> {
  const tf = new Map<string, number>();
  for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
  return tf;
}

/**
 * Binds the collection to the dense model of its first vectors (creating its vector table and
 * HNSW index, under the collection row's lock so concurrent first writes create it once), or
 * refuses vectors of another model with EMBEDDER_MISMATCH.
 */
async function bindEmbedder(
  c: PoolClient,
  row: PgCollectionRow,
  dense: NonNullable<WriteDocumentInput["dense"]>,
  ctx: WriteContext,
): Promise<void> {
  let { embedder, dimensions } = row;
  if (embedder === null) {
    const locked = (
      await c.query<{ embedder: string | null; dimensions: number | null }>(
        "select embedder, dimensions from index_collections where id = $1 for update",
        [row.id],
      )
    ).rows[0]!;
    ({ embedder, dimensions } = locked);
    if (embedder === null) {
      await c.query(createVectorTable(row.id, dense.dimensions, ctx.ext, ctx.hnsw));
      await c.query("update index_collections set embedder = $2, dimensions = $3 where id = $1", [
        row.id,
        dense.model,
        dense.dimensions,
      ]);
      return;
    }
  }
  if (embedder !== dense.model || dimensions !== dense.dimensions)
    throw new SluiceError(
      "EMBEDDER_MISMATCH",
      `collection "${row.name}" holds vectors from ${embedder} (${dimensions}-d); this pipeline embeds with ${dense.model} (${dense.dimensions}-d). Use a new collection or re-create this one`,
      { details: { collection: row.name, stored: embedder, configured: dense.model } },
    );
}

/**
 * Deletes a document's chunks with their postings, sparse terms and vectors, in the caller's
 * transaction; says how many chunks and tokens went, for the collection's counters.
 */
export async function removeChunks(
  c: PoolClient,
  collectionId: number,
  docId: string,
): Promise<{ n: number; tokens: number }> {
  const vectors = (await c.query<{ t: string | null }>("select to_regclass($1) as t", [vectorTable(collectionId)]))
    .rows[0]?.t;
  const gone = (
    await c.query<{ n: number; tokens: number }>(
      `with gone as (delete from index_chunks where collection_id = $1 and doc_id = $2 returning id, length),
         postings as (delete from index_postings where chunk_rowid in (select id from gone)),
         sparse as (delete from index_sparse where chunk_rowid in (select id from gone))${
           vectors
             ? `,
         vectors as (delete from ${vectorTable(collectionId)} where chunk_rowid in (select id from gone))`
             : ""
         }
       select count(*)::int as n, coalesce(sum(length), 0)::int as tokens from gone`,
      [collectionId, docId],
    )
  ).rows[0]!;
  return gone;
}

/**
 * Writes one document in the caller's transaction: unchanged when its content hash is stored
 * already; otherwise its old chunks go (with their postings, sparse terms and vectors) and the
 * new ones come in, and the collection's counts and version move. The
 * document row is locked first (the upsert), the collection row last, so concurrent writers of
 * one collection never wait on each other in a cycle.
 */
export async function writeDocumentIn(
  c: PoolClient,
  row: PgCollectionRow,
  input: WriteDocumentInput,
  ctx: WriteContext,
): Promise<IndexResult> {
  const { document, chunks, dense, sparse, lexical } = input;
  if (dense) await bindEmbedder(c, row, dense, ctx);
  // Locks the document's row (waiting for a concurrent writer of the same document to commit);
  // no row back means the stored content hash is this one.
  const upserted = await c.query<{ inserted: boolean }>(
    `insert into index_documents(collection_id, doc_id, content_hash, title, source, media_type, meta, chunk_count, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, now())
     on conflict (collection_id, doc_id) do update set content_hash = excluded.content_hash, title = excluded.title,
       source = excluded.source, media_type = excluded.media_type, meta = excluded.meta,
       chunk_count = excluded.chunk_count, updated_at = excluded.updated_at
     where index_documents.content_hash <> excluded.content_hash
     returning (xmax = 0) as inserted`,
    [
      row.id,
      document.id,
      document.contentHash,
      document.title,
      document.source,
      document.mediaType,
      JSON.stringify(document.meta),
      chunks.length,
    ],
  );
  const inserted = upserted.rows[0]?.inserted;
  if (inserted === undefined) return { docId: document.id, outcome: "unchanged", chunks: chunks.length };
  const removed = inserted ? { n: 0, tokens: 0 } : await removeChunks(c, row.id, document.id);

  const ids = (
    await c.query<{ id: string; ordinal: number }>(
      `insert into index_chunks(collection_id, doc_id, ordinal, chunk_id, text, start_offset, end_offset, page, length)
       select $1, $2, * from unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::int[])
       returning id, ordinal`,
      [
        row.id,
        document.id,
        chunks.map((ch) => ch.ordinal),
        chunks.map((ch) => ch.id),
        chunks.map((ch) => ch.text),
        chunks.map((ch) => ch.start),
        chunks.map((ch) => ch.end),
        chunks.map((ch) => ch.page ?? null),
        lexical.map((terms) => terms.length),
      ],
    )
  ).rows;
  const byOrdinal = new Map(ids.map((r) => [r.ordinal, r.id]));
  const rowids = chunks.map((ch) => byOrdinal.get(ch.ordinal)!);

  const posting = { term: [] as string[], rowid: [] as string[], tf: [] as number[], length: [] as number[] };
  lexical.forEach((terms, i) => {
    for (const [term, tf] of termFrequencies(terms)) {
      posting.term.push(term);
      posting.rowid.push(rowids[i]!);
      posting.tf.push(tf);
      posting.length.push(terms.length);
    }
  });
  if (posting.term.length > 0)
    await c.query(
      `insert into index_postings(collection_id, term, chunk_rowid, tf, length)
       select $1, * from unnest($2::text[], $3::bigint[], $4::int[], $5::int[])`,
      [row.id, posting.term, posting.rowid, posting.tf, posting.length],
    );

  if (sparse) {
    const terms: string[] = [];
    const at: string[] = [];
    const weights: number[] = [];
    sparse.vectors.forEach((vector, i) => {
      for (const [term, weight] of Object.entries(vector)) {
        terms.push(term);
        at.push(rowids[i]!);
        weights.push(weight);
      }
    });
    if (terms.length > 0)
      await c.query(
        `insert into index_sparse(collection_id, term, chunk_rowid, weight)
         select $1, * from unnest($2::text[], $3::bigint[], $4::real[])`,
        [row.id, terms, at, weights],
      );
  }

  if (dense && dense.vectors.length > 0)
    await c.query(
      `insert into ${vectorTable(row.id)}(chunk_rowid, embedding)
       select r, v::${ctx.ext}.vector from unnest($1::bigint[], $2::text[]) as t(r, v)`,
      [rowids, dense.vectors.map(vectorLiteral)],
    );

  const tokens = lexical.reduce((sum, terms) => sum + terms.length, 0);
  await c.query(
    `update index_collections set version = version + 1, documents = documents + $2, chunks = chunks + $3,
       tokens = tokens + $4 where id = $1`,
    [row.id, inserted ? 1 : 0, chunks.length - removed.n, tokens - removed.tokens],
  );
  return { docId: document.id, outcome: inserted ? "inserted" : "replaced", chunks: chunks.length };
}
