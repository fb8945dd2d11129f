import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as sqliteVec from "sqlite-vec";
import { SluiceError } from "../../contracts/errors.ts";
import type { SqliteDatabase } from "../../db/open-sqlite.ts";
import { vecTable } from "../../store/sqlite/schema.ts";

/** A collection of the embedded index, with its row counts. */
export interface SourceCollection {
  id: number;
  name: string;
  embedder: string | null;
  dimensions: number | null;
  documents: number;
  chunks: number;
}

/** A row of the embedded index's `documents` table. */
export interface SourceDocument {
  docId: string;
  contentHash: string;
  title: string;
  source: string;
  mediaType: string;
  /** The metadata as stored: JSON text. */
  meta: string;
  chunkCount: number;
}

/** A row of the embedded index's `chunks` table. */
export interface SourceChunk {
  rowid: number;
  chunkId: string;
  ordinal: number;
  text: string;
  start: number;
  end: number;
  page: number | null;
}

/** Live spool states: a record in one of them is work a worker has still to do. */
const LIVE_SPOOL = "('PENDING', 'LEASED', 'WAITING')";

/**
 * Opens a SQLite file read-only. A read-only connection never writes the file: it cannot
 * checkpoint a WAL into it, so the database file keeps its bytes whatever it reads. (SQLite may
 * still create its usual `-wal`/`-shm` companions beside a WAL database, as every reader does.)
 */
function openReadOnly(path: string, vectors: boolean): SqliteDatabase {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  // A worker still committing its last batch holds the lock for a moment: wait, do not fail.
  db.pragma("busy_timeout = 10000");
  if (vectors) sqliteVec.load(db);
  return db;
}

/** A float32 vector blob as a Float32Array of its own (blobs may sit at unaligned offsets). */
function toVector(blob: Buffer): Float32Array {
  const copy = new Uint8Array(blob);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

/**
 * An embedded data folder (`index.db`, and `ledger.db` when there is one), opened read-only: what
 * `sluice migrate` copies from. Throws PATH_NOT_FOUND, naming the path, when the folder has no
 * `index.db`.
 *
 * @example
 * const source = EmbeddedSource.open(".sluice");
 * for (const c of source.collections()) console.log(c.name, c.documents);
 * source.close();
 */
export class EmbeddedSource {
  readonly dataDir: string;
  readonly index: SqliteDatabase;
  /** `ledger.db`, or null when the folder has none (an index copied on its own). */
  readonly ledger: SqliteDatabase | null;

  private constructor(dataDir: string, index: SqliteDatabase, ledger: SqliteDatabase | null) {
    this.dataDir = dataDir;
    this.index = index;
    this.ledger = ledger;
  }

  static open(dataDir: string): EmbeddedSource {
    const indexPath = join(dataDir, "index.db");
    if (!existsSync(indexPath))
      throw new SluiceError(
        "PATH_NOT_FOUND",
        `${indexPath} does not exist: --data must name an embedded data folder (the one sluice ingest wrote, with index.db and ledger.db)`,
        { details: { path: indexPath } },
      );
    const index = openReadOnly(indexPath, true);
    try {
      const ledgerPath = join(dataDir, "ledger.db");
      return new EmbeddedSource(dataDir, index, existsSync(ledgerPath) ? openReadOnly(ledgerPath, false) : null);
    } catch (error) {
      index.close();
      throw error;
    }
  }

  close(): void {
    this.index.close();
    this.ledger?.close();
  }

  collections(): SourceCollection[] {
    return this.index
      .prepare<[], SourceCollection>(
        `select id, name, embedder, dimensions,
                (select count(*) from documents d where d.collection_id = c.id) as documents,
                (select count(*) from chunks k where k.collection_id = c.id) as chunks
         from collections c order by name`,
      )
      .all();
  }

  /** Up to `limit` documents of a collection after `afterDocId`, in doc id order (resumable paging). */
  documentsAfter(collectionId: number, afterDocId: string, limit: number): SourceDocument[] {
    return this.index
      .prepare<[number, string, number], SourceDocument>(
        `select doc_id as docId, content_hash as contentHash, title, source, media_type as mediaType, meta,
                chunk_count as chunkCount
         from documents where collection_id = ? and doc_id > ? order by doc_id limit ?`,
      )
      .all(collectionId, afterDocId, limit);
  }

  chunks(collectionId: number, docId: string): SourceChunk[] {
    return this.index
      .prepare<[number, string], SourceChunk>(
        `select id as rowid, chunk_id as chunkId, ordinal, text, start_offset as start, end_offset as "end", page
         from chunks where collection_id = ? and doc_id = ? order by ordinal`,
      )
      .all(collectionId, docId);
  }

  /** The dense vector of each chunk that has one (the collection has none before its first). */
  vectors(collection: SourceCollection, rowids: readonly number[]): Map<number, Float32Array> {
    const out = new Map<number, Float32Array>();
    if (collection.embedder === null) return out;
    // vec0 answers a point lookup by rowid from its rowid index.
    const get = this.index.prepare<[number], { embedding: Buffer }>(
      `select embedding from ${vecTable(collection.id)} where rowid = ?`,
    );
    for (const rowid of rowids) {
      const row = get.get(rowid);
      if (row) out.set(rowid, toVector(row.embedding));
    }
    return out;
  }

  /** The sparse term weights of each chunk that has any. */
  sparse(collectionId: number, rowids: readonly number[]): Map<number, Record<string, number>> {
    const out = new Map<number, Record<string, number>>();
    const rows = this.index
      .prepare<[number, string], { rowid: number; term: string; weight: number }>(
        `select chunk_rowid as rowid, term, weight from sparse_terms
         where collection_id = ? and chunk_rowid in (select value from json_each(?))`,
      )
      .all(collectionId, JSON.stringify(rowids));
    for (const r of rows) {
      let weights = out.get(r.rowid);
      if (!weights) out.set(r.rowid, (weights = {}));
      weights[r.term] = r.weight;
    }
    return out;
  }

  /** `count` random chunks of a collection (the verification's sample). */
  sampleChunks(
    collectionId: number,
    count: number,
  ): Array<{ rowid: number; docId: string; ordinal: number; text: string }> {
    return this.index
      .prepare<[number, number], { rowid: number; docId: string; ordinal: number; text: string }>(
        "select id as rowid, doc_id as docId, ordinal, text from chunks where collection_id = ? order by random() limit ?",
      )
      .all(collectionId, count);
  }

  /** The columns of a ledger table, or null when `ledger.db` has no such table (an older Sluice wrote it). */
  ledgerColumns(table: string): Set<string> | null {
    if (!this.ledger) return null;
    const columns = this.ledger.prepare<[], { name: string }>(`pragma table_info(${table})`).all();
    return columns.length > 0 ? new Set(columns.map((c) => c.name)) : null;
  }

  /**
   * Throws JOB_STATE_CONFLICT when the embedded spool still holds work (pending, leased or
   * waiting documents): a copy taken now would miss what the worker writes next.
   */
  assertSpoolDrained(): void {
    if (!this.ledgerColumns("spool")) return;
    const live = this.ledger!.prepare<[], { job_id: string; n: number }>(
      `select job_id, count(*) as n from spool where state in ${LIVE_SPOOL} group by job_id order by job_id`,
    ).all();
    if (live.length === 0) return;
    const documents = live.reduce((sum, r) => sum + r.n, 0);
    const jobs = live.map((r) => r.job_id);
    throw new SluiceError(
      "JOB_STATE_CONFLICT",
      `the embedded spool of ${this.dataDir} still holds ${documents} unfinished document(s) of job(s) ${jobs.slice(0, 5).join(", ")}${jobs.length > 5 ? ", …" : ""}: ` +
        "let them finish first (sluice worker --exit-when-idle, or sluice jobs resume <id> --wait) or cancel them (sluice jobs cancel <id>), stop every process using the folder, then run sluice migrate again",
      { details: { documents, jobs } },
    );
  }
}
