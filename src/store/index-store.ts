import { SluiceError } from "../contracts/errors.ts";
import type { Chunk, DenseVectors, IndexResult, ParsedDocument, SparseVectors } from "../contracts/index.ts";
import type { MetaFilter } from "./meta-filter.ts";

export interface CollectionInfo {
  name: string;
  documents: number;
  chunks: number;
  /** Dense model the collection's vectors came from; null until the first vector is written. */
  embedder: string | null;
  dimensions: number | null;
  createdAt: string;
  /** Bumped by every write and delete: equal versions mean equal contents (caches, segments). */
  version: number;
}

export interface StoredChunk {
  rowid: number;
  chunkId: string;
  docId: string;
  ordinal: number;
  text: string;
  page: number | null;
  source: string;
  title: string;
}

/** A document as the index holds it (what `listDocuments` lists). */
export interface IndexedDocument {
  docId: string;
  title: string;
  source: string;
  mediaType: string;
  contentHash: string;
  chunks: number;
  meta: Record<string, unknown>;
  updatedAt: string;
}

/**
 * Which documents `listDocuments` gives: a page of those whose id, title or source contains
 * `contains` (in any case).
 */
export interface ListDocumentsOptions {
  contains?: string;
  limit: number;
  offset: number;
}

export interface ScoredRow {
  rowid: number;
  score: number;
}

export interface WriteDocumentInput {
  document: ParsedDocument;
  chunks: Chunk[];
  dense?: DenseVectors;
  sparse?: SparseVectors;
  /** Analyzed terms per chunk for the lexical index, aligned with `chunks`. */
  lexical: string[][];
}

/**
 * The index port. Writes are idempotent by content hash; a changed document replaces its
 * chunks in every index in one transaction; a delete removes it from every index.
 * Adapters: SQLite (FTS5 + sqlite-vec + a sparse term table). All of them pass
 * `index-store.conformance.ts`.
 */
export interface IndexStore {
  open(): Promise<void>;
  close(): Promise<void>;
  /** Answers a trivial query, in constant time however big the index (readiness probes). */
  ping(): Promise<void>;
  ensureCollection(name: string): Promise<CollectionInfo>;
  getCollection(name: string): Promise<CollectionInfo | null>;
  listCollections(): Promise<CollectionInfo[]>;
  dropCollection(name: string): Promise<boolean>;
  /** The stored content hash of a document, or null when it is not indexed. */
  documentHash(collection: string, docId: string): Promise<string | null>;
  writeDocument(collection: string, input: WriteDocumentInput): Promise<IndexResult>;
  deleteDocument(collection: string, docId: string): Promise<boolean>;
  /**
   * The searches take an optional filter on document metadata, applied inside the search: `k`
   * rows come back whenever `k` matching rows exist.
   */
  searchLexical(collection: string, terms: string[], k: number, filter?: MetaFilter): Promise<ScoredRow[]>;
  searchDense(collection: string, vector: Float32Array, k: number, filter?: MetaFilter): Promise<ScoredRow[]>;
  searchSparse(
    collection: string,
    weights: Record<string, number>,
    k: number,
    filter?: MetaFilter,
  ): Promise<ScoredRow[]>;
  /** Rowids, ascending, of the chunks whose document's metadata passes the filter. */
  matchingRows(collection: string, filter: MetaFilter): Promise<number[]>;
  /** Chunk count, per-term chunk frequencies (for query-side idf) and whether any postings exist. */
  sparseStats(
    collection: string,
    terms: string[],
  ): Promise<{ chunks: number; df: Map<string, number>; postings: number }>;
  getChunks(collection: string, rowids: number[]): Promise<Map<number, StoredChunk>>;
  /**
   * The collection statistics lexical scores use (BM25's N and total length), as the lexical
   * index itself counts them, so a search segment scores exactly as the index does.
   */
  lexicalTotals(collection: string): Promise<{ rows: number; tokens: number }>;
  /** Every chunk's rowid and text, in rowid order (to build search segments from). */
  scanChunks(collection: string): AsyncIterable<{ rowid: number; text: string }>;
  /** Every dense vector with its chunk's rowid, in rowid order; nothing before the first vector. */
  scanVectors(collection: string): AsyncIterable<{ rowid: number; vector: Float32Array }>;
  /** A page of the collection's documents by id, and how many match in all. */
  listDocuments(
    collection: string,
    options: ListDocumentsOptions,
  ): Promise<{ total: number; documents: IndexedDocument[] }>;
  /** A document's chunks as they were indexed, in order; empty when it is not indexed. */
  documentChunks(collection: string, docId: string): Promise<StoredChunk[]>;
}

/** A `documents` row as both adapters read it for `listDocuments` (meta: JSON text in SQLite, jsonb in PostgreSQL). */
export interface DocumentListRow {
  doc_id: string;
  title: string;
  source: string;
  media_type: string;
  content_hash: string;
  chunk_count: number;
  meta: string | Record<string, unknown>;
  updated_at: string | Date;
}

export function indexedDocument(r: DocumentListRow): IndexedDocument {
  return {
    docId: r.doc_id,
    title: r.title,
    source: r.source,
    mediaType: r.media_type,
    contentHash: r.content_hash,
    chunks: r.chunk_count,
    meta: typeof r.meta === "string" ? (JSON.parse(r.meta) as Record<string, unknown>) : r.meta,
    updatedAt: r.updated_at instanceof Date ? r.updated_at.toISOString() : r.updated_at,
  };
}

/** `contains` as a LIKE pattern with `\` escaping its wildcards (both adapters), lower-cased. */
export function likePattern(contains: string | undefined): string {
  return `%${(contains ?? "").toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

// A public name, optionally behind a tenant id and "~" (the API stores tenant t's collection c
// as "t~c"; see src/api/tenant-scope.ts). Public names themselves never contain "~".
const COLLECTION_NAME = /^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}~)?[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Throws COLLECTION_INVALID unless `name` is a collection name (with an optional tenant prefix). */
export function assertCollectionName(name: string): void {
  if (!COLLECTION_NAME.test(name)) {
    throw new SluiceError(
      "COLLECTION_INVALID",
      `invalid collection name "${name}": use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      {
        details: { collection: name },
      },
    );
  }
}

/**
 * The one COLLECTION_NOT_FOUND: names the collection and lists the ones that exist (`known`,
 * already filtered to what the caller may see).
 *
 * @example
 * throw collectionNotFound("notes", ["handbook"]); // collection "notes" does not exist; collections: handbook
 */
export function collectionNotFound(collection: string, known: readonly string[]): SluiceError {
  return new SluiceError(
    "COLLECTION_NOT_FOUND",
    `collection "${collection}" does not exist; collections: ${known.join(", ") || "(none)"}`,
    { details: { collection } },
  );
}

/** What a collection's vectors came from, as stored. */
interface StoredEmbedder {
  embedder: string | null;
  dimensions: number | null;
}

/**
 * The EMBEDDER_MISMATCH of a write whose vectors come from another model than the collection's.
 *
 * @example
 * throw writeEmbedderMismatch("docs", { embedder: "static-256", dimensions: 256 }, dense);
 */
export function writeEmbedderMismatch(collection: string, stored: StoredEmbedder, dense: DenseVectors): SluiceError {
  return new SluiceError(
    "EMBEDDER_MISMATCH",
    `collection "${collection}" holds vectors from ${stored.embedder} (${stored.dimensions}-d); this pipeline embeds with ${dense.model} (${dense.dimensions}-d). Use a new collection or re-create this one`,
    { details: { collection, stored: stored.embedder, configured: dense.model } },
  );
}

/**
 * The EMBEDDER_MISMATCH of a dense search whose query vector has another size than the collection's.
 *
 * @example
 * throw queryEmbedderMismatch("docs", { embedder: "static-256", dimensions: 256 }, 384);
 */
export function queryEmbedderMismatch(collection: string, stored: StoredEmbedder, dimensions: number): SluiceError {
  return new SluiceError(
    "EMBEDDER_MISMATCH",
    `collection "${collection}" has ${stored.dimensions}-d vectors (${stored.embedder}); the query vector has ${dimensions}`,
    { details: { collection } },
  );
}

/** A chunk joined with its document, as both adapters select it (column names as stored). */
export interface ChunkRow {
  chunk_id: string;
  doc_id: string;
  ordinal: number;
  text: string;
  page: number | null;
  source: string;
  title: string;
}

/** The StoredChunk of a selected chunk row. */
export function storedChunk(rowid: number, r: ChunkRow): StoredChunk {
  return {
    rowid,
    chunkId: r.chunk_id,
    docId: r.doc_id,
    ordinal: r.ordinal,
    text: r.text,
    page: r.page,
    source: r.source,
    title: r.title,
  };
}
