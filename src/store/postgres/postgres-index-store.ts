import type { Pool } from "pg";
import type { IndexResult } from "../../contracts/index.ts";
import { migratePostgres } from "../../db/postgres/migrate-postgres.ts";
import { inTransaction, SharedPostgres, type PostgresSettings } from "../../db/postgres/open-postgres.ts";
import {
  assertCollectionName,
  collectionNotFound,
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
import type { MetaFilter } from "../meta-filter.ts";
import { searchBm25 } from "./bm25.ts";
import { metaFilterSql } from "./meta-filter-sql.ts";
import { ensurePgvector } from "./pgvector.ts";
import {
  bindEmbedder,
  type PgCollectionRow,
  removeChunks,
  vectorLiteral,
  writeDocumentIn,
} from "./postgres-index-writes.ts";
import { type HnswBuild, INDEX_MIGRATIONS, vectorTable } from "./schema.ts";

/** The HNSW settings of `postgres.hnsw`. */
export interface HnswSettings extends HnswBuild {
  /** `hnsw.ef_search` of every connection: candidates kept while searching. */
  efSearch: number;
  /** A filtered dense search matching at most this many chunks ranks them exactly. */
  exactBelow: number;
}

export interface PostgresIndexStoreOptions {
  hnsw?: Partial<HnswSettings>;
  /** Connections in the index's pool (default 10). */
  max?: number;
}

const DEFAULT_HNSW: HnswSettings = { m: 24, efConstruction: 128, efSearch: 200, exactBelow: 20_000 };

/** A collection row's columns, bigints as numbers (ids and counts stay far below 2^53). */
const COLLECTION_COLUMNS = `id::float8 as id, name, embedder, dimensions, created_at, version::float8 as version,
  documents::float8 as documents, chunks::float8 as chunks, tokens::float8 as tokens`;

/**
 * The index in PostgreSQL, beside the ledger and the queue (`database: postgres`): BM25 over a
 * postings table, pgvector HNSW (cosine) per collection for dense, a term table for sparse.
 * Every write is one transaction (a changed document replaces its chunks in every index at once);
 * any number of processes may write and search at once.
 *
 * @example
 * const store = new PostgresIndexStore({ url: "postgres://sluice@db:5432/sluice", schema: "sluice" });
 * await store.open();
 * await store.writeDocument("default", { document, chunks, dense, sparse, lexical });
 */
export class PostgresIndexStore implements IndexStore {
  readonly settings: PostgresSettings;
  readonly hnsw: HnswSettings;
  readonly #db: SharedPostgres;
  #pool: Pool | null = null;
  /** The schema of the `vector` extension (its type and operators are named through it). */
  #ext = "public";

  constructor(settings: PostgresSettings, options: PostgresIndexStoreOptions = {}) {
    this.settings = settings;
    this.hnsw = { ...DEFAULT_HNSW, ...options.hnsw };
    this.#db = new SharedPostgres(settings, {
      max: options.max ?? 10,
      settings: {
        "hnsw.ef_search": this.hnsw.efSearch,
        // A filtered search keeps walking the graph until k rows pass (pgvector 0.8).
        "hnsw.iterative_scan": "relaxed_order",
        "hnsw.max_scan_tuples": 200_000,
        // A document's write holds its collection's row until it commits; waiting for the WAL flush
        // there would make every writer of the collection wait too. Nothing is lost by not waiting:
        // the worker's outcome commits (flushed, in the same server's WAL, which is written in order)
        // after the index write, and until it does the spool runs the document again. Deletes and
        // drops answer a caller directly, so they wait for the flush (\`synchronous_commit = on\`).
        synchronous_commit: "off",
        // Index queries are short: compiling one (JIT, from cost 100,000) takes longer than running it.
        jit: "off",
      },
    });
  }

  get pool(): Pool {
    if (!this.#pool) throw new Error("PostgresIndexStore is not open; call open() first");
    return this.#pool;
  }

  async open(): Promise<void> {
    if (this.#pool) return;
    const pool = await this.#db.acquire();
    try {
      this.#ext = await ensurePgvector(pool);
      await migratePostgres(pool, "index", INDEX_MIGRATIONS);
    } catch (error) {
      await this.#db.release();
      throw error;
    }
    this.#pool = pool;
  }

  async close(): Promise<void> {
    if (!this.#pool) return;
    this.#pool = null;
    await this.#db.release();
  }

  async ping(): Promise<void> {
    await this.pool.query("select 1 from index_collections limit 1");
  }

  async #row(name: string): Promise<PgCollectionRow | undefined> {
    return (
      await this.pool.query<PgCollectionRow>({
        name: "sluice_index_collection",
        text: `select ${COLLECTION_COLUMNS} from index_collections where name = $1`,
        values: [name],
      })
    ).rows[0];
  }

  async #require(name: string): Promise<PgCollectionRow> {
    const row = await this.#row(name);
    if (row) return row;
    const known = (await this.pool.query<{ name: string }>("select name from index_collections order by name")).rows;
    throw collectionNotFound(
      name,
      known.map((r) => r.name),
    );
  }

  #info(row: PgCollectionRow): CollectionInfo {
    return {
      name: row.name,
      documents: row.documents,
      chunks: row.chunks,
      embedder: row.embedder,
      dimensions: row.dimensions,
      createdAt: row.created_at,
      version: row.version,
    };
  }

  async ensureCollection(name: string): Promise<CollectionInfo> {
    assertCollectionName(name);
    let row = await this.#row(name);
    if (!row) {
      await this.pool.query(
        "insert into index_collections(name, created_at) values ($1, $2) on conflict (name) do nothing",
        [name, new Date().toISOString()],
      );
      row = await this.#require(name);
    }
    return this.#info(row);
  }

  async getCollection(name: string): Promise<CollectionInfo | null> {
    const row = await this.#row(name);
    return row ? this.#info(row) : null;
  }

  async listCollections(): Promise<CollectionInfo[]> {
    const rows = await this.pool.query<PgCollectionRow>(
      `select ${COLLECTION_COLUMNS} from index_collections order by name`,
    );
    return rows.rows.map((r) => this.#info(r));
  }

  async dropCollection(name: string): Promise<boolean> {
    return inTransaction(this.pool, async (c) => {
      await c.query("set local synchronous_commit = on");
      const row = (await c.query<{ id: string }>("select id from index_collections where name = $1 for update", [name]))
        .rows[0];
      if (!row) return false;
      // Table by table, by collection: faster than cascading from each chunk.
      await c.query(`drop table if exists ${vectorTable(row.id)}`);
      await c.query("delete from index_postings where collection_id = $1", [row.id]);
      await c.query("delete from index_sparse where collection_id = $1", [row.id]);
      await c.query("delete from index_chunks where collection_id = $1", [row.id]);
      await c.query("delete from index_collections where id = $1", [row.id]);
      return true;
    });
  }

  async documentHash(collection: string, docId: string): Promise<string | null> {
    const doc = await this.pool.query<{ content_hash: string }>(
      `select d.content_hash from index_documents d join index_collections c on c.id = d.collection_id
       where c.name = $1 and d.doc_id = $2`,
      [collection, docId],
    );
    return doc.rows[0]?.content_hash ?? null;
  }

  async writeDocument(collection: string, input: WriteDocumentInput): Promise<IndexResult> {
    const { chunks, dense, sparse, lexical } = input;
    if (lexical.length !== chunks.length) throw new Error("lexical terms must align with chunks");
    if (dense && dense.vectors.length !== chunks.length) throw new Error("dense vectors must align with chunks");
    if (sparse && sparse.vectors.length !== chunks.length) throw new Error("sparse vectors must align with chunks");
    let row = await this.#row(collection);
    if (!row) {
      await this.ensureCollection(collection);
      row = await this.#require(collection);
    }
    if (dense && row.embedder === null) {
      const first = row;
      await inTransaction(this.pool, (c) => bindEmbedder(c, first, dense, { ext: this.#ext, hnsw: this.hnsw }));
      row = await this.#require(collection);
    }
    const bound = row;
    return inTransaction(this.pool, (c) => writeDocumentIn(c, bound, input, { ext: this.#ext, hnsw: this.hnsw }));
  }

  async deleteDocument(collection: string, docId: string): Promise<boolean> {
    const row = await this.#require(collection);
    return inTransaction(this.pool, async (c) => {
      await c.query("set local synchronous_commit = on");
      const gone = await removeChunks(c, row.id, docId, row.embedder !== null);
      const found =
        ((await c.query("delete from index_documents where collection_id = $1 and doc_id = $2", [row.id, docId]))
          .rowCount ?? 0) > 0;
      if (found)
        await c.query(
          `update index_collections set version = version + 1, documents = documents - 1, chunks = chunks - $2,
             tokens = tokens - $3 where id = $1`,
          [row.id, gone.n, gone.tokens],
        );
      return found;
    });
  }

  /** `and chunk_rowid in (the filter's chunks)`, its parameters numbered from `first`. */
  #filterClause(column: string, filter: MetaFilter | undefined, first: number): { sql: string; params: unknown[] } {
    if (!filter) return { sql: "", params: [] };
    const condition = metaFilterSql(filter, "d", first);
    return {
      sql: ` and ${column} in (select c.id from index_chunks c join index_documents d
               on d.collection_id = c.collection_id and d.doc_id = c.doc_id
               where c.collection_id = $1 and ${condition.sql})`,
      params: condition.params,
    };
  }

  async searchLexical(collection: string, terms: string[], k: number, filter?: MetaFilter): Promise<ScoredRow[]> {
    const row = await this.#require(collection);
    if (terms.length === 0 || k <= 0) return [];
    return searchBm25(
      this.pool,
      row,
      terms,
      k,
      filter ? (column, first) => this.#filterClause(column, filter, first) : null,
    );
  }

  async matchingRows(collection: string, filter: MetaFilter): Promise<number[]> {
    const row = await this.#require(collection);
    const condition = metaFilterSql(filter, "d", 2);
    const rows = await this.pool.query<{ id: string }>(
      `select c.id from index_chunks c join index_documents d on d.collection_id = c.collection_id and d.doc_id = c.doc_id
       where c.collection_id = $1 and ${condition.sql} order by c.id`,
      [row.id, ...condition.params],
    );
    return rows.rows.map((r) => Number(r.id));
  }

  async searchDense(collection: string, vector: Float32Array, k: number, filter?: MetaFilter): Promise<ScoredRow[]> {
    const row = await this.#require(collection);
    if (row.embedder === null || k <= 0) return [];
    if (row.dimensions !== vector.length) throw queryEmbedderMismatch(collection, row, vector.length);
    const table = vectorTable(row.id);
    const distance = `embedding operator(${this.#ext}.<=>) $1::${this.#ext}.vector`;
    const query = vectorLiteral(vector);
    let rows: Array<{ rowid: string; distance: number }>;
    if (!filter) {
      rows = (
        await this.pool.query<{ rowid: string; distance: number }>({
          name: `sluice_index_dense_${row.id}`,
          text: `select chunk_rowid as rowid, ${distance} as distance from ${table} order by distance limit $2`,
          values: [query, k],
        })
      ).rows;
    } else {
      const matching = await this.matchingRows(collection, filter);
      if (matching.length === 0) return [];
      rows =
        matching.length <= this.hnsw.exactBelow
          ? // A narrow filter: every matching row's exact distance (materialized, so the graph is not used).
            (
              await this.pool.query<{ rowid: string; distance: number }>(
                `with m as materialized (select chunk_rowid, ${distance} as distance from ${table} where chunk_rowid = any($2::bigint[]))
                 select chunk_rowid as rowid, distance from m order by distance limit $3`,
                [query, matching, k],
              )
            ).rows
          : // A wide one: the graph, walked on (iterative scan) until k matching rows are found.
            (
              await this.pool.query<{ rowid: string; distance: number }>(
                `select rowid, distance from (
                   select chunk_rowid as rowid, ${distance} as distance from ${table}
                   where chunk_rowid = any($2::bigint[]) order by distance limit $3) t order by distance`,
                [query, matching, k],
              )
            ).rows;
    }
    return rows.map((r) => ({ rowid: Number(r.rowid), score: 1 - r.distance }));
  }

  async searchSparse(
    collection: string,
    weights: Record<string, number>,
    k: number,
    filter?: MetaFilter,
  ): Promise<ScoredRow[]> {
    const row = await this.#require(collection);
    const entries = Object.entries(weights);
    if (entries.length === 0 || k <= 0) return [];
    const where = this.#filterClause("s.chunk_rowid", filter, 5);
    const rows = await this.pool.query<{ rowid: string; score: number }>(
      `select s.chunk_rowid as rowid, sum(q.weight * s.weight) as score
       from index_sparse s join unnest($2::text[], $3::float8[]) as q(term, weight) on q.term = s.term
       where s.collection_id = $1${where.sql}
       group by s.chunk_rowid order by score desc, rowid limit $4`,
      [row.id, entries.map(([t]) => t), entries.map(([, w]) => w), k, ...where.params],
    );
    return rows.rows.map((r) => ({ rowid: Number(r.rowid), score: r.score }));
  }

  async sparseStats(
    collection: string,
    terms: string[],
  ): Promise<{ chunks: number; df: Map<string, number>; postings: number }> {
    const row = await this.#require(collection);
    const unique = [...new Set(terms)];
    const counted = await this.pool.query<{ term: string; n: number }>(
      `select term, count(*)::int as n from index_sparse where collection_id = $1 and term = any($2::text[]) group by term`,
      [row.id, unique],
    );
    const df = new Map(unique.map((t) => [t, 0]));
    for (const r of counted.rows) df.set(r.term, r.n);
    const postings = (
      await this.pool.query<{ n: number }>(
        "select count(*)::int as n from (select 1 from index_sparse where collection_id = $1 limit 1) t",
        [row.id],
      )
    ).rows[0]!.n;
    return { chunks: row.chunks, df, postings };
  }

  async lexicalTotals(collection: string): Promise<{ rows: number; tokens: number }> {
    const row = await this.#require(collection);
    return { rows: row.chunks, tokens: row.tokens };
  }

  async *scanChunks(collection: string): AsyncIterable<{ rowid: number; text: string }> {
    const row = await this.#require(collection);
    for (let after = 0; ;) {
      const rows = (
        await this.pool.query<{ id: string; text: string }>(
          "select id, text from index_chunks where collection_id = $1 and id > $2 order by id limit 2048",
          [row.id, after],
        )
      ).rows;
      for (const r of rows) yield { rowid: Number(r.id), text: r.text };
      if (rows.length < 2048) return;
      after = Number(rows[rows.length - 1]!.id);
    }
  }

  async *scanVectors(collection: string): AsyncIterable<{ rowid: number; vector: Float32Array }> {
    const row = await this.#require(collection);
    if (row.embedder === null) return;
    for (let after = 0; ;) {
      const rows = (
        await this.pool.query<{ id: string; v: number[] }>(
          `select chunk_rowid as id, embedding::real[] as v from ${vectorTable(row.id)}
           where chunk_rowid > $1 order by chunk_rowid limit 2048`,
          [after],
        )
      ).rows;
      for (const r of rows) yield { rowid: Number(r.id), vector: Float32Array.from(r.v) };
      if (rows.length < 2048) return;
      after = Number(rows[rows.length - 1]!.id);
    }
  }

  async listDocuments(
    collection: string,
    options: ListDocumentsOptions,
  ): Promise<{ total: number; documents: IndexedDocument[] }> {
    const row = await this.#require(collection);
    const where = `collection_id = $1 and (lower(doc_id) like $2 or lower(title) like $2 or lower(source) like $2)`;
    const pattern = likePattern(options.contains);
    const [count, rows] = await Promise.all([
      this.pool.query<{ n: string }>(`select count(*) as n from index_documents where ${where}`, [row.id, pattern]),
      this.pool.query<DocumentListRow>(
        `select doc_id, title, source, media_type, content_hash, chunk_count, meta, updated_at
         from index_documents where ${where} order by doc_id collate "C" limit $3 offset $4`,
        [row.id, pattern, options.limit, options.offset],
      ),
    ]);
    return { total: Number(count.rows[0]!.n), documents: rows.rows.map(indexedDocument) };
  }

  async documentChunks(collection: string, docId: string): Promise<StoredChunk[]> {
    const row = await this.#require(collection);
    const rows = await this.pool.query<ChunkRow & { id: string }>(
      `select c.id, c.chunk_id, c.doc_id, c.ordinal, c.text, c.page, d.source, d.title
       from index_chunks c join index_documents d on d.collection_id = c.collection_id and d.doc_id = c.doc_id
       where c.collection_id = $1 and c.doc_id = $2 order by c.ordinal`,
      [row.id, docId],
    );
    return rows.rows.map((r) => storedChunk(Number(r.id), r));
  }

  async getChunks(collection: string, rowids: number[]): Promise<Map<number, StoredChunk>> {
    const row = await this.#require(collection);
    const out = new Map<number, StoredChunk>();
    if (rowids.length === 0) return out;
    const rows = await this.pool.query<ChunkRow & { id: string }>(
      `select c.id, c.chunk_id, c.doc_id, c.ordinal, c.text, c.page, d.source, d.title
       from index_chunks c join index_documents d on d.collection_id = c.collection_id and d.doc_id = c.doc_id
       where c.collection_id = $1 and c.id = any($2::bigint[])`,
      [row.id, rowids],
    );
    const byId = new Map(rows.rows.map((r) => [Number(r.id), r]));
    // In the order asked for, as the SQLite adapter answers.
    for (const id of rowids) {
      const r = byId.get(id);
      if (r) out.set(id, storedChunk(id, r));
    }
    return out;
  }
}
