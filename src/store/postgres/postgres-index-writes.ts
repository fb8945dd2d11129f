import type { PoolClient } from "pg";
import type { IndexResult } from "../../contracts/index.ts";
import { writeEmbedderMismatch, type WriteDocumentInput } from "../index-store.ts";
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
 * Binds the collection to the dense model of its first vectors, in a transaction of its own before
 * the document's (so no writer ever holds the collection row while it waits for a document row):
 * creates its vector table and HNSW index under the collection row's lock, once however many
 * first writes race. Refuses vectors of another model with EMBEDDER_MISMATCH.
 */
export async function bindEmbedder(
  c: PoolClient,
  row: PgCollectionRow,
  dense: NonNullable<WriteDocumentInput["dense"]>,
  ctx: WriteContext,
): Promise<void> {
  const locked = (
    await c.query<{ embedder: string | null; dimensions: number | null }>(
      "select embedder, dimensions from index_collections where id = $1 for update",
      [row.id],
    )
  ).rows[0];
  if (!locked) throw new Error(`collection "${row.name}" was dropped while being written`);
  if (locked.embedder === null) {
    await c.query(createVectorTable(row.id, dense.dimensions, ctx.ext, ctx.hnsw));
    await c.query("update index_collections set embedder = $2, dimensions = $3 where id = $1", [
      row.id,
      dense.model,
      dense.dimensions,
    ]);
  } else if (locked.embedder !== dense.model || locked.dimensions !== dense.dimensions) {
    throw writeEmbedderMismatch(row.name, locked, dense);
  }
}

/** Whether the collection has a vector table now (the row may predate its first vectors). */
async function hasVectors(c: PoolClient, row: PgCollectionRow, dense: WriteDocumentInput["dense"]): Promise<boolean> {
  if (dense !== undefined || row.embedder !== null) return true;
  return (
    (await c.query("select 1 from index_collections where id = $1 and embedder is not null", [row.id])).rowCount === 1
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
  hasVectors: boolean,
): Promise<{ n: number; tokens: number }> {
  const vectors = hasVectors
    ? `,\n       vectors as (delete from ${vectorTable(collectionId)} where chunk_rowid in (select id from gone))`
    : "";
  return (
    await c.query<{ n: number; tokens: number }>({
      name: `sluice_index_remove_${collectionId}_${hasVectors ? "v" : "n"}`,
      text: `with gone as (delete from index_chunks where collection_id = $1 and doc_id = $2 returning id, length),
       postings as (delete from index_postings where chunk_rowid in (select id from gone)),
       sparse as (delete from index_sparse where chunk_rowid in (select id from gone))${vectors}
       select count(*)::int as n, coalesce(sum(length), 0)::int as tokens from gone`,
      values: [collectionId, docId],
    })
  ).rows[0]!;
}

/**
 * Writes one document in the caller's transaction: unchanged when its content hash is stored
 * already; otherwise its old chunks go (with their postings, sparse terms and vectors) and the
 * new ones come in, and the collection's counts and version move. The
 * document row is locked first (the upsert), the collection row last, so concurrent writers of
 * one collection never wait on each other in a cycle. `row` is read before the transaction: its
 * embedder is bound for good once set.
 */
export async function writeDocumentIn(
  c: PoolClient,
  row: PgCollectionRow,
  input: WriteDocumentInput,
  ctx: WriteContext,
): Promise<IndexResult> {
  const { document, chunks, dense, sparse, lexical } = input;
  // The caller has bound the collection to an embedder before (`bindEmbedder`).
  if (dense && (row.embedder !== dense.model || row.dimensions !== dense.dimensions))
    throw writeEmbedderMismatch(row.name, row, dense);
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
  const removed = inserted
    ? { n: 0, tokens: 0 }
    : await removeChunks(c, row.id, document.id, await hasVectors(c, row, dense));

  // Everything else in one statement (one round trip): the chunks, then, joined to their new ids by
  // ordinal, their postings, sparse terms and vectors, and last the collection's counters.
  const posting = { ordinal: [] as number[], term: [] as string[], tf: [] as number[], length: [] as number[] };
  lexical.forEach((terms, i) => {
    for (const [term, tf] of termFrequencies(terms)) {
      posting.ordinal.push(chunks[i]!.ordinal);
      posting.term.push(term);
      posting.tf.push(tf);
      posting.length.push(terms.length);
    }
  });
  const weighted = { ordinal: [] as number[], term: [] as string[], weight: [] as number[] };
  sparse?.vectors.forEach((vector, i) => {
    for (const [term, weight] of Object.entries(vector)) {
      weighted.ordinal.push(chunks[i]!.ordinal);
      weighted.term.push(term);
      weighted.weight.push(weight);
    }
  });
  const tokens = lexical.reduce((sum, terms) => sum + terms.length, 0);
  const withVectors = dense !== undefined && dense.vectors.length > 0;
  const vectors = withVectors
    ? `,
     v as (insert into ${vectorTable(row.id)}(chunk_rowid, embedding)
       select ch.id, t.v::${ctx.ext}.vector from unnest($20::int[], $21::text[]) as t(ordinal, v) join ch on ch.ordinal = t.ordinal returning 1)`
    : "";
  // The update reads a count of every insert, so they all run before it takes the collection's row:
  // an insert no one reads would run after it, holding that lock (and every other writer) meanwhile.
  const done = `(select count(*) from p) + (select count(*) from s)${withVectors ? " + (select count(*) from v)" : ""}`;
  await c.query({
    // Prepared once per connection and collection: planning this costs more than running it.
    name: `sluice_index_write_${row.id}_${withVectors ? "v" : "n"}`,
    text: `with ch as (
       insert into index_chunks(collection_id, doc_id, ordinal, chunk_id, text, start_offset, end_offset, page, length)
       select $1, $2, * from unnest($3::int[], $4::text[], $5::text[], $6::int[], $7::int[], $8::int[], $9::int[])
       returning id, ordinal),
     p as (insert into index_postings(collection_id, term, chunk_rowid, tf, length)
       select $1, t.term, ch.id, t.tf, t.length from unnest($10::int[], $11::text[], $12::int[], $13::int[])
         as t(ordinal, term, tf, length) join ch on ch.ordinal = t.ordinal returning 1),
     s as (insert into index_sparse(collection_id, term, chunk_rowid, weight)
       select $1, t.term, ch.id, t.weight from unnest($14::int[], $15::text[], $16::real[])
         as t(ordinal, term, weight) join ch on ch.ordinal = t.ordinal returning 1)${vectors}
     update index_collections set version = version + 1, documents = documents + $17, chunks = chunks + $18,
       tokens = tokens + $19 where id = $1 and ${done} >= 0`,
    values: [
      row.id,
      document.id,
      chunks.map((ch) => ch.ordinal),
      chunks.map((ch) => ch.id),
      chunks.map((ch) => ch.text),
      chunks.map((ch) => ch.start),
      chunks.map((ch) => ch.end),
      chunks.map((ch) => ch.page ?? null),
      lexical.map((terms) => terms.length),
      posting.ordinal,
      posting.term,
      posting.tf,
      posting.length,
      weighted.ordinal,
      weighted.term,
      weighted.weight,
      inserted ? 1 : 0,
      chunks.length - removed.n,
      tokens - removed.tokens,
      ...(withVectors ? [chunks.map((ch) => ch.ordinal), dense.vectors.map(vectorLiteral)] : []),
    ],
  });
  return { docId: document.id, outcome: inserted ? "inserted" : "replaced", chunks: chunks.length };
}
