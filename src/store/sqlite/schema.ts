import type { SqliteDatabase } from "../../db/open-sqlite.ts";

/** Tables shared by every collection. Per-collection FTS5 and vec0 tables are created on demand. */
export const INDEX_SCHEMA = `
create table if not exists collections (
  id integer primary key,
  name text not null unique,
  embedder text,
  dimensions integer,
  created_at text not null,
  version integer not null default 0
);
create table if not exists documents (
  collection_id integer not null references collections(id) on delete cascade,
  doc_id text not null,
  content_hash text not null,
  title text not null,
  source text not null,
  media_type text not null,
  meta text not null,
  chunk_count integer not null,
  updated_at text not null,
  primary key (collection_id, doc_id)
) without rowid;
create table if not exists chunks (
  id integer primary key,
  collection_id integer not null,
  doc_id text not null,
  ordinal integer not null,
  chunk_id text not null,
  text text not null,
  start_offset integer not null,
  end_offset integer not null,
  page integer
);
create index if not exists chunks_by_doc on chunks(collection_id, doc_id);
create table if not exists sparse_terms (
  collection_id integer not null,
  term text not null,
  chunk_rowid integer not null,
  weight real not null,
  primary key (collection_id, term, chunk_rowid)
) without rowid;
create index if not exists sparse_terms_by_chunk on sparse_terms(collection_id, chunk_rowid);
`;

export const ftsTable = (collectionId: number) => `fts_${collectionId}`;
export const vecTable = (collectionId: number) => `vec_${collectionId}`;

// The analyzer has already lowercased and split the text; terms are joined by spaces and the
// `ascii` tokenizer splits on those spaces only, keeping every non-ASCII letter (Thai, Arabic)
// inside its term. Contentless: the text lives in `chunks`.
export const createFts = (collectionId: number) =>
  `create virtual table if not exists ${ftsTable(collectionId)} using fts5(body, content='', contentless_delete=1, tokenize='ascii')`;

export const createVec = (collectionId: number, dimensions: number) =>
  `create virtual table if not exists ${vecTable(collectionId)} using vec0(embedding float[${dimensions}] distance_metric=cosine)`;

/**
 * Brings an index file written by an older Sluice up to this schema: `collections.version`
 * (bumped by every write and delete, so readers and caches can tell a collection changed).
 */
export function migrateIndexSchema(db: SqliteDatabase): void {
  const columns = db.prepare<[], { name: string }>("pragma table_info(collections)").all();
  if (!columns.some((c) => c.name === "version"))
    db.exec("alter table collections add column version integer not null default 0");
}
