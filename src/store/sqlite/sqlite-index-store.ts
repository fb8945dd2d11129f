import type Database from "better-sqlite3";
import { SluiceError } from "../../contracts/errors.ts";
import type { IndexResult } from "../../contracts/index.ts";
import { openSqlite, type SqliteDatabase } from "../../db/open-sqlite.ts";
import { StatementCache } from "../../db/statement-cache.ts";
import {
  collectionNotFound,
  type CollectionInfo,
  type IndexStore,
  type ScoredRow,
  type StoredChunk,
  type WriteDocumentInput,
} from "../index-store.ts";
import { createFts, createVec, ftsTable, INDEX_SCHEMA, vecTable } from "./schema.ts";

interface CollectionRow {
  id: number;
  name: string;
  embedder: string | null;
  dimensions: number | null;
  created_at: string;
}

// A public name, optionally behind a tenant id and "~" (the API stores tenant t's collection c
// as "t~c"; see src/api/tenant-scope.ts). Public names themselves never contain "~".
const COLLECTION_NAME = /^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}~)?[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

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

/** FTS5 query text: every term quoted, OR-ed, so user input can never be FTS syntax. */
function ftsQuery(terms: string[]): string {
  return [...new Set(terms)].map((t) => `"${t.replace(/"/g, '""')}"`).join(" OR ");
}

/**
 * The embedded index: FTS5 (bm25) for lexical, sqlite-vec (cosine) for dense and a term table
 * for sparse, all in one SQLite file so a document's chunks change in every index in one
 * transaction.
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
  #pending: Array<{
    collection: string;
    input: WriteDocumentInput;
    resolve: (r: IndexResult) => void;
    reject: (e: unknown) => void;
  }> = [];

  constructor(path: string) {
    this.path = path;
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
    db.exec(INDEX_SCHEMA);
    this.#db = db;
    this.#statements = new StatementCache(db);
  }

  async close(): Promise<void> {
    this.#statements = null;
    this.#db?.close();
    this.#db = null;
  }

  #row(name: string): CollectionRow | undefined {
    return this.#stmt<[string], CollectionRow>("select * from collections where name = ?").get(name);
  }

  #require(name: string): CollectionRow {
    const row = this.#row(name);
    if (!row) {
      const known = this.#stmt<[], { name: string }>("select name from collections order by name")
        .all()
        .map((r) => r.name);
      throw collectionNotFound(name, known);
    }
    return row;
  }

  #info(row: CollectionRow): CollectionInfo {
    const counts = this.db
      .prepare<[number, number], { documents: number; chunks: number }>(
        "select (select count(*) from documents where collection_id = ?) as documents, (select count(*) from chunks where collection_id = ?) as chunks",
      )
      .get(row.id, row.id)!;
    return {
      name: row.name,
      documents: counts.documents,
      chunks: counts.chunks,
      embedder: row.embedder,
      dimensions: row.dimensions,
      createdAt: row.created_at,
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

  #removeChunks(collectionId: number, docId: string, hasVectors: boolean): void {
    const rowids = this.#stmt<[number, string], { id: number }>(
      "select id from chunks where collection_id = ? and doc_id = ?",
    )
      .all(collectionId, docId)
      .map((r) => r.id);
    if (rowids.length === 0) return;
    const delFts = this.#stmt(`delete from ${ftsTable(collectionId)} where rowid = ?`);
    const delVec = hasVectors ? this.#stmt(`delete from ${vecTable(collectionId)} where rowid = ?`) : null;
    const delSparse = this.#stmt("delete from sparse_terms where collection_id = ? and chunk_rowid = ?");
    for (const id of rowids) {
      delFts.run(id);
      delVec?.run(BigInt(id));
      delSparse.run(collectionId, id);
    }
    this.#stmt("delete from chunks where collection_id = ? and doc_id = ?").run(collectionId, docId);
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
    const results: Array<IndexResult | Error> = [];
    try {
      this.db
        .transaction(() => {
          for (const item of batch) {
            try {
              results.push(this.#write(item.collection, item.input));
            } catch (err) {
              results.push(err instanceof Error ? err : new Error(String(err)));
            }
          }
        })
        .immediate();
    } catch (err) {
      // The commit itself failed (disk full, I/O error): nothing in the batch was written.
      for (const item of batch) item.reject(err);
      return;
    }
    batch.forEach((item, i) => {
      const r = results[i]!;
      if (r instanceof Error) item.reject(r);
      else item.resolve(r);
    });
  }

  #write(collection: string, input: WriteDocumentInput): IndexResult {
    const { document, chunks, dense, sparse, lexical } = input;
    return this.db
      .transaction((): IndexResult => {
        let row = this.#require(collection);
        const existing = this.#stmt<[number, string], { content_hash: string }>(
          "select content_hash from documents where collection_id = ? and doc_id = ?",
        ).get(row.id, document.id);
        if (existing?.content_hash === document.contentHash)
          return { docId: document.id, outcome: "unchanged", chunks: chunks.length };

        if (dense) {
          if (row.embedder === null) {
            this.#stmt("update collections set embedder = ?, dimensions = ? where id = ?").run(
              dense.model,
              dense.dimensions,
              row.id,
            );
            this.db.exec(createVec(row.id, dense.dimensions));
            row = this.#require(collection);
          } else if (row.embedder !== dense.model || row.dimensions !== dense.dimensions) {
            throw new SluiceError(
              "EMBEDDER_MISMATCH",
              `collection "${collection}" holds vectors from ${row.embedder} (${row.dimensions}-d); this pipeline embeds with ${dense.model} (${dense.dimensions}-d). Use a new collection or re-create this one`,
              { details: { collection, stored: row.embedder, configured: dense.model } },
            );
          }
        }
        if (existing) this.#removeChunks(row.id, document.id, row.embedder !== null);

        const now = new Date().toISOString();
        this.#stmt(
          `insert into documents(collection_id, doc_id, content_hash, title, source, media_type, meta, chunk_count, updated_at)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?)
           on conflict(collection_id, doc_id) do update set content_hash = excluded.content_hash, title = excluded.title, source = excluded.source,
             media_type = excluded.media_type, meta = excluded.meta, chunk_count = excluded.chunk_count, updated_at = excluded.updated_at`,
        ).run(
          row.id,
          document.id,
          document.contentHash,
          document.title,
          document.source,
          document.mediaType,
          JSON.stringify(document.meta),
          chunks.length,
          now,
        );

        const insChunk = this.#stmt(
          "insert into chunks(collection_id, doc_id, ordinal, chunk_id, text, start_offset, end_offset, page) values (?, ?, ?, ?, ?, ?, ?, ?)",
        );
        const insFts = this.#stmt(`insert into ${ftsTable(row.id)}(rowid, body) values (?, ?)`);
        const insVec = dense ? this.#stmt(`insert into ${vecTable(row.id)}(rowid, embedding) values (?, ?)`) : null;
        const insSparse = this.#stmt(
          "insert into sparse_terms(collection_id, term, chunk_rowid, weight) values (?, ?, ?, ?)",
        );
        chunks.forEach((chunk, i) => {
          const rowid = Number(
            insChunk.run(
              row.id,
              document.id,
              chunk.ordinal,
              chunk.id,
              chunk.text,
              chunk.start,
              chunk.end,
              chunk.page ?? null,
            ).lastInsertRowid,
          );
          insFts.run(rowid, lexical[i]!.join(" "));
          const vector = dense?.vectors[i];
          if (insVec && vector)
            insVec.run(BigInt(rowid), Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
          const weights = sparse?.vectors[i];
          if (weights) for (const [term, weight] of Object.entries(weights)) insSparse.run(row.id, term, rowid, weight);
        });
        return { docId: document.id, outcome: existing ? "replaced" : "inserted", chunks: chunks.length };
      })
      .immediate();
  }

  async deleteDocument(collection: string, docId: string): Promise<boolean> {
    const row = this.#require(collection);
    return this.db
      .transaction(() => {
        const found =
          this.#stmt("delete from documents where collection_id = ? and doc_id = ?").run(row.id, docId).changes > 0;
        if (found) this.#removeChunks(row.id, docId, row.embedder !== null);
        return found;
      })
      .immediate();
  }

  async searchLexical(collection: string, terms: string[], k: number): Promise<ScoredRow[]> {
    const row = this.#require(collection);
    if (terms.length === 0) return [];
    const table = ftsTable(row.id);
    // bm25() is lower-is-better; negate so every retriever returns higher-is-better scores.
    return this.db
      .prepare<[string, number], ScoredRow>(
        `select rowid, -bm25(${table}) as score from ${table} where ${table} match ? order by bm25(${table}) limit ?`,
      )
      .all(ftsQuery(terms), k);
  }

  async searchDense(collection: string, vector: Float32Array, k: number): Promise<ScoredRow[]> {
    const row = this.#require(collection);
    if (row.embedder === null) return [];
    if (row.dimensions !== vector.length) {
      throw new SluiceError(
        "EMBEDDER_MISMATCH",
        `collection "${collection}" has ${row.dimensions}-d vectors (${row.embedder}); the query vector has ${vector.length}`,
        {
          details: { collection },
        },
      );
    }
    const rows = this.db
      .prepare<[Buffer, number], { rowid: number; distance: number }>(
        `select rowid, distance from ${vecTable(row.id)} where embedding match ? and k = ?`,
      )
      .all(Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength), k);
    return rows.map((r) => ({ rowid: Number(r.rowid), score: 1 - r.distance }));
  }

  async searchSparse(collection: string, weights: Record<string, number>, k: number): Promise<ScoredRow[]> {
    const row = this.#require(collection);
    const scores = new Map<number, number>();
    const postings = this.#stmt<[number, string], { chunk_rowid: number; weight: number }>(
      "select chunk_rowid, weight from sparse_terms where collection_id = ? and term = ?",
    );
    for (const [term, qw] of Object.entries(weights)) {
      for (const p of postings.iterate(row.id, term))
        scores.set(p.chunk_rowid, (scores.get(p.chunk_rowid) ?? 0) + qw * p.weight);
    }
    return [...scores]
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

  async getChunks(collection: string, rowids: number[]): Promise<Map<number, StoredChunk>> {
    const row = this.#require(collection);
    const out = new Map<number, StoredChunk>();
    if (rowids.length === 0) return out;
    const stmt = this.#stmt<
      [number, number],
      {
        id: number;
        chunk_id: string;
        doc_id: string;
        ordinal: number;
        text: string;
        page: number | null;
        source: string;
        title: string;
      }
    >(
      `select c.id, c.chunk_id, c.doc_id, c.ordinal, c.text, c.page, d.source, d.title
       from chunks c join documents d on d.collection_id = c.collection_id and d.doc_id = c.doc_id
       where c.id = ? and c.collection_id = ?`,
    );
    for (const id of rowids) {
      const r = stmt.get(id, row.id);
      if (r)
        out.set(id, {
          rowid: r.id,
          chunkId: r.chunk_id,
          docId: r.doc_id,
          ordinal: r.ordinal,
          text: r.text,
          page: r.page,
          source: r.source,
          title: r.title,
        });
    }
    return out;
  }
}
