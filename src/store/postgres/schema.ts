/**
 * The PostgreSQL index's tables, in the schema of `postgres.schema` beside the ledger's, every name
 * prefixed `index_`. Per-term postings (term frequency and chunk length) make BM25 a query; each
 * collection's vectors get a table of their own once its first vector arrives (`vectorTable`),
 * with an HNSW index whose dimensions are that embedder's.
 *
 * Migration `i` runs once (`migratePostgres`, component "index"); migrations only ever add.
 */
export const INDEX_MIGRATIONS: readonly string[] = [
  `
create table index_collections (
  id bigint generated always as identity primary key,
  name text not null unique,
  embedder text,
  dimensions integer,
  created_at text not null,
  version bigint not null default 0,
  documents bigint not null default 0,
  chunks bigint not null default 0,
  -- BM25's N and total document length, as the postings count them.
  tokens bigint not null default 0
);
create table index_documents (
  collection_id bigint not null references index_collections(id) on delete cascade,
  doc_id text not null,
  content_hash text not null,
  title text not null,
  source text not null,
  media_type text not null,
  meta jsonb not null,
  chunk_count integer not null,
  updated_at timestamptz not null,
  primary key (collection_id, doc_id)
);
create index index_documents_meta on index_documents using gin (meta jsonb_path_ops);
create table index_chunks (
  id bigint generated always as identity primary key,
  collection_id bigint not null,
  doc_id text not null,
  ordinal integer not null,
  chunk_id text not null,
  text text not null,
  start_offset integer not null,
  end_offset integer not null,
  page integer,
  length integer not null,
  foreign key (collection_id, doc_id) references index_documents(collection_id, doc_id) on delete cascade
);
create index index_chunks_by_doc on index_chunks(collection_id, doc_id);
create index index_chunks_by_collection on index_chunks(collection_id, id);
-- Postings, sparse terms and vectors name their chunk without a foreign key (whose check would run
-- once per inserted row): \`removeChunks\` deletes them with their chunks.
-- The inverted index: one row per (term, chunk), with what BM25 needs beside it and in the primary
-- key's index (INCLUDE), so a search reads the postings of its terms from that index alone.
create table index_postings (
  collection_id bigint not null,
  term text not null,
  chunk_rowid bigint not null,
  tf integer not null,
  length integer not null,
  primary key (collection_id, term, chunk_rowid) include (tf, length)
);
create index index_postings_by_chunk on index_postings(chunk_rowid);
create table index_sparse (
  collection_id bigint not null,
  term text not null,
  chunk_rowid bigint not null,
  weight real not null,
  primary key (collection_id, term, chunk_rowid) include (weight)
);
create index index_sparse_by_chunk on index_sparse(chunk_rowid);
`,
];

/** The table of one collection's vectors. */
export const vectorTable = (collectionId: number | string): string => `index_vectors_${collectionId}`;

/** HNSW build settings (pgvector's `m` and `ef_construction`). */
export interface HnswBuild {
  m: number;
  efConstruction: number;
}

/**
 * The DDL of a collection's vector table and its HNSW (cosine) index. `ext` is the schema the
 * vector extension lives in: its type, operators and operator classes are named through it.
 */
export function createVectorTable(collectionId: number, dimensions: number, ext: string, hnsw: HnswBuild): string {
  const table = vectorTable(collectionId);
  return `create table if not exists ${table} (
  chunk_rowid bigint primary key,
  embedding ${ext}.vector(${dimensions}) not null
);
create index if not exists ${table}_hnsw on ${table} using hnsw (embedding ${ext}.vector_cosine_ops) with (m = ${hnsw.m}, ef_construction = ${hnsw.efConstruction});`;
}
