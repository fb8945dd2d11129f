import type Database from "better-sqlite3";
import type { IndexResult } from "../../contracts/index.ts";
import type { SqliteDatabase } from "../../db/open-sqlite.ts";
import { StatementCache } from "../../db/statement-cache.ts";
import { collectionNotFound, writeEmbedderMismatch, type WriteDocumentInput } from "../index-store.ts";
import { createVec, ftsTable, vecTable } from "./schema.ts";

export interface CollectionRow {
  id: number;
  name: string;
  embedder: string | null;
  dimensions: number | null;
  created_at: string;
  version: number;
}

/** One document to write into a collection. */
export interface IndexWrite {
  collection: string;
  input: WriteDocumentInput;
}

/**
 * The write side of the SQLite index on one connection: a batch of documents in one transaction
 * (group commit), each in its own savepoint so one bad document cannot undo the others. The store
 * runs it on its own connection, or on a writer thread's (`index-write-thread.ts`) so the commit
 * work leaves the event loop.
 *
 * @example
 * const writes = new IndexWrites(db);
 * const [result] = writes.writeBatch([{ collection: "docs", input }]); // IndexResult, or the Error of that document
 */
export class IndexWrites {
  readonly #db: SqliteDatabase;
  readonly #statements: StatementCache;

  constructor(db: SqliteDatabase, statements = new StatementCache(db)) {
    this.#db = db;
    this.#statements = statements;
  }

  #stmt<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    return this.#statements.get<P, R>(sql);
  }

  row(name: string): CollectionRow | undefined {
    return this.#stmt<[string], CollectionRow>("select * from collections where name = ?").get(name);
  }

  require(name: string): CollectionRow {
    const row = this.row(name);
    if (!row) {
      const known = this.#stmt<[], { name: string }>("select name from collections order by name")
        .all()
        .map((r) => r.name);
      throw collectionNotFound(name, known);
    }
    return row;
  }

  /**
   * Writes every document in one transaction; returns, per document, its result or the error that
   * stopped it (its savepoint rolled back, the others kept). Throws only when the commit itself
   * fails (disk full, I/O error): then nothing of the batch was written.
   */
  writeBatch(batch: readonly IndexWrite[]): Array<IndexResult | Error> {
    const results: Array<IndexResult | Error> = [];
    this.#db
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
    return results;
  }

  /** Every write and delete bumps the collection's version in its own transaction. */
  bumpVersion(collectionId: number): void {
    this.#stmt("update collections set version = version + 1 where id = ?").run(collectionId);
  }

  removeChunks(collectionId: number, docId: string, hasVectors: boolean): void {
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

  #write(collection: string, input: WriteDocumentInput): IndexResult {
    const { document, chunks, dense, sparse, lexical } = input;
    return this.#db
      .transaction((): IndexResult => {
        let row = this.require(collection);
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
            this.#db.exec(createVec(row.id, dense.dimensions));
            row = this.require(collection);
          } else if (row.embedder !== dense.model || row.dimensions !== dense.dimensions) {
            throw writeEmbedderMismatch(collection, row, dense);
          }
        }
        if (existing) this.removeChunks(row.id, document.id, row.embedder !== null);

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
        this.bumpVersion(row.id);
        return { docId: document.id, outcome: existing ? "replaced" : "inserted", chunks: chunks.length };
      })
      .immediate();
  }
}
