import type Database from "better-sqlite3";
import type { IndexResult } from "../../contracts/index.ts";
import { openSqlite, type SqliteDatabase } from "../../db/open-sqlite.ts";
import { StatementCache } from "../../db/statement-cache.ts";
import {
  assertCollectionName,
  type ChunkRow,
  type CollectionInfo,
  type DocumentListRow,
  type IndexedDocument,
  indexedDocument,
  likePattern,
  type ListDocumentsOptions,
  queryEmbedderMismatch,
  storedChunk,
  type IndexStore,
  type ScoredRow,
  type StoredChunk,
  type WriteDocumentInput,
} from "../index-store.ts";
import { IndexWriteThread } from "./index-write-thread.ts";
import { type CollectionRow, type IndexWrite, IndexWrites } from "./index-writes.ts";
import { matchesMetaFilter, type MetaFilter } from "../meta-filter.ts";
import { createFts, ftsTable, INDEX_SCHEMA, migrateIndexSchema, vecTable } from "./schema.ts";

export interface SqliteIndexStoreOptions {
  /**
   * Write on a worker thread with a connection of its own (`IndexWriteThread`), so ingest's
   * transactions and commits leave the event loop. Default false: writes run on this thread.
   */
  writeThread?: boolean;
}

/** An SQLite varint (FTS5's record format): 7 bits a byte, big-endian, a 9th byte of 8 bits. */
function readVarint(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const b = bytes[at + i] ?? 0;
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) return [value, at + i + 1];
  }
  return [value * 256 + (bytes[at + 8] ?? 0), at + 9];
}

/** FTS5 query text: every term quoted, OR-ed, so user input can never be FTS syntax. */
function ftsQuery(terms: string[]): string {
  return [...new Set(terms)].map((t) => `"${t.replace(/"/g, '""')}"`).join(" OR ");
}

/**
 * The embedded index: FTS5 (bm25) for lexical, sqlite-vec (cosine) for dense and a term table
 * for sparse, all in one SQLite file so a document's chunks change in every index in one
 * transaction. Writes queued in one turn of the event loop commit together ({@link IndexWrites}),
 * on this thread or, with `writeThread`, on a writer thread.
 *
 * @example
 * const store = new SqliteIndexStore(join(dataDir, "index.db"));
 * await store.open();
 * await store.writeDocument("default", { document, chunks, dense, sparse, lexical });
 */
export class SqliteIndexStore implements IndexStore {
  readonly path: string;
  #db: SqliteDatabase | null = null;
  #statements: StatementCache | null = null;
  #writes: IndexWrites | null = null;
  readonly #thread: IndexWriteThread | null;
  /** Batches sent to the writer thread and not answered yet (close waits for them). */
  readonly #flushing = new Set<Promise<void>>();
  /** Document and chunk counts per collection (id and creation time), as of a version. */
  readonly #counts = new Map<string, { version: number; documents: number; chunks: number }>();
  #pending: Array<IndexWrite & { resolve: (r: IndexResult) => void; reject: (e: unknown) => void }> = [];

  constructor(path: string, options: SqliteIndexStoreOptions = {}) {
    this.path = path;
    this.#thread = options.writeThread && path !== ":memory:" ? new IndexWriteThread(path) : null;
  }

  get db(): SqliteDatabase {
    if (!this.#db) throw new Error("SqliteIndexStore is not open; call open() first");
    return this.#db;
  }

  /** Prepared statements are cached: preparing one costs more than running it. */
  #stmt<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    if (!this.#statements) throw new Error("SqliteIndexStore is not open; call open() first");
    return this.#statements.get<P, R>(sql);
  }

  async open(): Promise<void> {
    if (this.#db) return;
    const db = openSqlite(this.path, { vectors: true });
    // Under the write lock, waiting for it (busy_timeout): several processes and reader threads
    // opening a new index at once would otherwise race their DDL, and an autocommit statement
    // whose read snapshot went stale fails at once with "database is locked".
    db.transaction(() => {
      db.exec(INDEX_SCHEMA);
      migrateIndexSchema(db);
    }).immediate();
    this.#db = db;
    this.#statements = new StatementCache(db);
    this.#writes = new IndexWrites(db, this.#statements);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#flushing]);
    await this.#thread?.close();
    this.#writes = null;
    this.#statements = null;
    this.#db?.close();
    this.#db = null;
  }

  get #w(): IndexWrites {
    if (!this.#writes) throw new Error("SqliteIndexStore is not open; call open() first");
    return this.#writes;
  }

  #row(name: string): CollectionRow | undefined {
    return this.#w.row(name);
  }

  #require(name: string): CollectionRow {
    return this.#w.require(name);
  }

  #info(row: CollectionRow): CollectionInfo {
    // Counting 64k chunks costs more than the query that asked: counts are kept per version.
    // Keyed by creation time too: a re-created collection can get the id of a dropped one.
    const key = `${row.id}:${row.created_at}`;
    let counts = this.#counts.get(key);
    if (counts?.version !== row.version) {
      const counted = this.#stmt<[number, number], { documents: number; chunks: number }>(
        "select (select count(*) from documents where collection_id = ?) as documents, (select count(*) from chunks where collection_id = ?) as chunks",
      ).get(row.id, row.id)!;
      counts = { version: row.version, ...counted };
      this.#counts.set(key, counts);
    }
    return {
      name: row.name,
      documents: counts.documents,
      chunks: counts.chunks,
      embedder: row.embedder,
      dimensions: row.dimensions,
      createdAt: row.created_at,
      version: row.version,
    };
  }

  async ensureCollection(name: string): Promise<CollectionInfo> {
    assertCollectionName(name);
    let row = this.#row(name);
    if (!row) {
      this.db
        .transaction(() => {
          const id = Number(
            this.#stmt("insert into collections(name, created_at) values (?, ?)").run(name, new Date().toISOString())
              .lastInsertRowid,
          );
          this.db.exec(createFts(id));
        })
        .immediate();
      row = this.#row(name)!;
    }
    return this.#info(row);
  }

  async ping(): Promise<void> {
    this.#stmt("select id from collections limit 1").get();
  }

  async getCollection(name: string): Promise<CollectionInfo | null> {
    const row = this.#row(name);
    return row ? this.#info(row) : null;
  }

  async listCollections(): Promise<CollectionInfo[]> {
    return this.#stmt<[], CollectionRow>("select * from collections order by name")
      .all()
      .map((r) => this.#info(r));
  }

  async dropCollection(name: string): Promise<boolean> {
    const row = this.#row(name);
    if (!row) return false;
    this.db
      .transaction(() => {
        this.db.exec(`drop table if exists ${ftsTable(row.id)}`);
        this.db.exec(`drop table if exists ${vecTable(row.id)}`);
        this.#stmt("delete from sparse_terms where collection_id = ?").run(row.id);
        this.#stmt("delete from chunks where collection_id = ?").run(row.id);
        this.#stmt("delete from documents where collection_id = ?").run(row.id);
        this.#stmt("delete from collections where id = ?").run(row.id);
      })
      .immediate();
    // Statements on the dropped tables are invalid now.
    this.#statements?.clear();
    return true;
  }

  async documentHash(collection: string, docId: string): Promise<string | null> {
    const row = this.#row(collection);
    if (!row) return null;
    const doc = this.#stmt<[number, string], { content_hash: string }>(
      "select content_hash from documents where collection_id = ? and doc_id = ?",
    ).get(row.id, docId);
    return doc?.content_hash ?? null;
  }

  /**
   * Queues a write; every write queued in the same turn of the event loop commits in one
   * transaction (group commit), each in its own savepoint so one bad document cannot undo the
   * others. With synchronous=FULL an fsync per document would cap ingest at a few hundred
   * documents per second.
   */
  async writeDocument(collection: string, input: WriteDocumentInput): Promise<IndexResult> {
    const { chunks, dense, sparse, lexical } = input;
    if (lexical.length !== chunks.length) throw new Error("lexical terms must align with chunks");
    if (dense && dense.vectors.length !== chunks.length) throw new Error("dense vectors must align with chunks");
    if (sparse && sparse.vectors.length !== chunks.length) throw new Error("sparse vectors must align with chunks");
    if (!this.#row(collection)) await this.ensureCollection(collection);
    return new Promise((resolve, reject) => {
      this.#pending.push({ collection, input, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    const settle = (results: Array<IndexResult | Error>) =>
      batch.forEach((item, i) => {
        const r = results[i]!;
        if (r instanceof Error) item.reject(r);
        else item.resolve(r);
      });
    // The commit itself failed (disk full, I/O error): nothing in the batch was written.
    const failAll = (err: unknown) => batch.forEach((item) => item.reject(err));
    if (this.#thread) {
      const items = batch.map(({ collection, input }) => ({ collection, input }));
      const flushing: Promise<void> = this.#thread
        .write(items)
        .then(settle, failAll)
        .finally(() => this.#flushing.delete(flushing));
      this.#flushing.add(flushing);
      return;
    }
    let results: Array<IndexResult | Error>;
    try {
      results = this.#w.writeBatch(batch);
    } catch (err) {
      failAll(err);
      return;
    }
    settle(results);
  }

  async deleteDocument(collection: string, docId: string): Promise<boolean> {
    const row = this.#require(collection);
    return this.db
      .transaction(() => {
        const found =
          this.#stmt("delete from documents where collection_id = ? and doc_id = ?").run(row.id, docId).changes > 0;
        if (found) {
          this.#w.removeChunks(row.id, docId, row.embedder !== null);
          this.#w.bumpVersion(row.id);
        }
        return found;
      })
      .immediate();
  }

  async searchLexical(collection: string, terms: string[], k: number, filter?: MetaFilter): Promise<ScoredRow[]> {
    const row = this.#require(collection);
    if (terms.length === 0) return [];
    const table = ftsTable(row.id);
    // bm25() is lower-is-better; negate so every retriever returns higher-is-better scores.
    if (!filter)
      return this.#stmt<[string, number], ScoredRow>(
        `select rowid, -bm25(${table}) as score from ${table} where ${table} match ? order by bm25(${table}) limit ?`,
      ).all(ftsQuery(terms), k);
    // Filtered: walk the ranking until k rows pass, so k come back whenever k match.
    const allowed = new Set(await this.matchingRows(collection, filter));
    const out: ScoredRow[] = [];
    if (allowed.size === 0) return out;
    const ranked = this.#stmt<[string], ScoredRow>(
      `select rowid, -bm25(${table}) as score from ${table} where ${table} match ? order by bm25(${table})`,
    );
    for (const r of ranked.iterate(ftsQuery(terms))) {
      if (!allowed.has(r.rowid)) continue;
      out.push(r);
      if (out.length === k) break;
    }
    return out;
  }

  async matchingRows(collection: string, filter: MetaFilter): Promise<number[]> {
    const row = this.#require(collection);
    const docs = new Set<string>();
    for (const d of this.#stmt<[number], { doc_id: string; meta: string }>(
      "select doc_id, meta from documents where collection_id = ?",
    ).iterate(row.id))
      if (matchesMetaFilter(JSON.parse(d.meta) as Record<string, unknown>, filter)) docs.add(d.doc_id);
    if (docs.size === 0) return [];
    const rows: number[] = [];
    for (const c of this.#stmt<[number], { id: number; doc_id: string }>(
      "select id, doc_id from chunks where collection_id = ? order by id",
    ).iterate(row.id))
      if (docs.has(c.doc_id)) rows.push(c.id);
    return rows;
  }

  async searchDense(collection: string, vector: Float32Array, k: number, filter?: MetaFilter): Promise<ScoredRow[]> {
    const row = this.#require(collection);
    if (row.embedder === null) return [];
    if (row.dimensions !== vector.length) {
      throw queryEmbedderMismatch(collection, row, vector.length);
    }
    const bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
    const rows = filter
      ? // Filtered: the exact distance of every matching row (vec0's knn takes no filter).
        this.#stmt<[Buffer, string, number], { rowid: number; distance: number }>(
          `select rowid, vec_distance_cosine(embedding, ?) as distance from ${vecTable(row.id)}
           where rowid in (select value from json_each(?)) order by distance limit ?`,
        ).all(bytes, JSON.stringify(await this.matchingRows(collection, filter)), k)
      : this.#stmt<[Buffer, number], { rowid: number; distance: number }>(
          `select rowid, distance from ${vecTable(row.id)} where embedding match ? and k = ?`,
        ).all(bytes, k);
    return rows.map((r) => ({ rowid: Number(r.rowid), score: 1 - r.distance }));
  }

  async searchSparse(
    collection: string,
    weights: Record<string, number>,
    k: number,
    filter?: MetaFilter,
  ): Promise<ScoredRow[]> {
    const row = this.#require(collection);
    const allowed = filter ? new Set(await this.matchingRows(collection, filter)) : null;
    const scores = new Map<number, number>();
    const postings = this.#stmt<[number, string], { chunk_rowid: number; weight: number }>(
      "select chunk_rowid, weight from sparse_terms where collection_id = ? and term = ?",
    );
    for (const [term, qw] of Object.entries(weights)) {
      for (const p of postings.iterate(row.id, term))
        scores.set(p.chunk_rowid, (scores.get(p.chunk_rowid) ?? 0) + qw * p.weight);
    }
    return [...scores]
      .filter(([rowid]) => allowed === null || allowed.has(rowid))
      .map(([rowid, score]) => ({ rowid, score }))
      .sort((a, b) => b.score - a.score)
      .slice(0, k);
  }

  async sparseStats(
    collection: string,
    terms: string[],
  ): Promise<{ chunks: number; df: Map<string, number>; postings: number }> {
    const row = this.#require(collection);
    const chunks = this.#stmt<[number], { n: number }>("select count(*) as n from chunks where collection_id = ?").get(
      row.id,
    )!.n;
    const dfStmt = this.#stmt<[number, string], { n: number }>(
      "select count(*) as n from sparse_terms where collection_id = ? and term = ?",
    );
    const df = new Map<string, number>();
    for (const t of new Set(terms)) df.set(t, dfStmt.get(row.id, t)!.n);
    const postings = this.#stmt<[number], { n: number }>(
      "select count(*) as n from (select 1 from sparse_terms where collection_id = ? limit 1)",
    ).get(row.id)!.n;
    return { chunks, df, postings };
  }

  async lexicalTotals(collection: string): Promise<{ rows: number; tokens: number }> {
    const row = this.#require(collection);
    // FTS5's averages record (rowid 1 of %_data): varints nRow, then tokens per column. FTS5 keeps
    // counting deleted rows of a contentless_delete table in it, so bm25() does too.
    const record = this.#stmt<[], { block: Buffer }>(`select block from ${ftsTable(row.id)}_data where id = 1`).get();
    if (!record) return { rows: 0, tokens: 0 };
    const [rows, next] = readVarint(record.block, 0);
    const [tokens] = next < record.block.length ? readVarint(record.block, next) : [0];
    return { rows, tokens };
  }

  async *scanChunks(collection: string): AsyncIterable<{ rowid: number; text: string }> {
    const row = this.#require(collection);
    // Pages of rows by rowid: an open iterator would hold a read transaction (and the WAL) open.
    const page = this.#stmt<[number, number, number], { id: number; text: string }>(
      "select id, text from chunks where collection_id = ? and id > ? order by id limit ?",
    );
    for (let after = 0; ;) {
      const rows = page.all(row.id, after, 2048);
      for (const r of rows) yield { rowid: r.id, text: r.text };
      if (rows.length < 2048) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  async *scanVectors(collection: string): AsyncIterable<{ rowid: number; vector: Float32Array }> {
    const row = this.#require(collection);
    if (row.embedder === null) return;
    const page = this.#stmt<[number, number], { rowid: number; embedding: Buffer }>(
      `select rowid, embedding from ${vecTable(row.id)} where rowid > ? order by rowid limit ?`,
    );
    for (let after = 0; ;) {
      const rows = page.all(after, 2048);
      for (const r of rows) {
        const bytes = new Uint8Array(r.embedding);
        yield {
          rowid: Number(r.rowid),
          vector: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
        };
      }
      if (rows.length < 2048) return;
      after = Number(rows[rows.length - 1]!.rowid);
    }
  }

  async listDocuments(
    collection: string,
    options: ListDocumentsOptions,
  ): Promise<{ total: number; documents: IndexedDocument[] }> {
    const row = this.#require(collection);
    const pattern = likePattern(options.contains);
    const where = `collection_id = ? and (lower(doc_id) like ? escape '\\' or lower(title) like ? escape '\\' or lower(source) like ? escape '\\')`;
    const total = this.#stmt<[number, string, string, string], { n: number }>(
      `select count(*) as n from documents where ${where}`,
    ).get(row.id, pattern, pattern, pattern)!.n;
    const rows = this.#stmt<[number, string, string, string, number, number], DocumentListRow>(
      `select doc_id, title, source, media_type, content_hash, chunk_count, meta, updated_at
       from documents where ${where} order by doc_id limit ? offset ?`,
    ).all(row.id, pattern, pattern, pattern, options.limit, options.offset);
    return { total, documents: rows.map(indexedDocument) };
  }

  async documentChunks(collection: string, docId: string): Promise<StoredChunk[]> {
    const row = this.#require(collection);
    return this.#stmt<[number, string], ChunkRow & { id: number }>(
      `select c.id, c.chunk_id, c.doc_id, c.ordinal, c.text, c.page, d.source, d.title
       from chunks c join documents d on d.collection_id = c.collection_id and d.doc_id = c.doc_id
       where c.collection_id = ? and c.doc_id = ? order by c.ordinal`,
    )
      .all(row.id, docId)
      .map((r) => storedChunk(r.id, r));
  }

  async getChunks(collection: string, rowids: number[]): Promise<Map<number, StoredChunk>> {
    const row = this.#require(collection);
    const out = new Map<number, StoredChunk>();
    if (rowids.length === 0) return out;
    const stmt = this.#stmt<[number, number], ChunkRow & { id: number }>(
      `select c.id, c.chunk_id, c.doc_id, c.ordinal, c.text, c.page, d.source, d.title
       from chunks c join documents d on d.collection_id = c.collection_id and d.doc_id = c.doc_id
       where c.id = ? and c.collection_id = ?`,
    );
    for (const id of rowids) {
      const r = stmt.get(id, row.id);
      if (r) out.set(id, storedChunk(r.id, r));
    }
    return out;
  }
}
