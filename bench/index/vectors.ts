import { existsSync, statSync } from "node:fs";
import type { PoolClient } from "pg";
import { openSqlite } from "../../src/db/open-sqlite.ts";
import { openPostgres } from "../../src/db/postgres/open-postgres.ts";
import { ensurePgvector } from "../../src/store/postgres/pgvector.ts";
import { vectorLiteral } from "../../src/store/postgres/postgres-index-writes.ts";
import { percentile } from "../serve-helpers.ts";
import type { ClusteredVectors } from "./clustered.ts";

export interface Latencies {
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  mean_ms: number;
}

/** p50/p95/p99 and mean, in ms to 0.01, of unsorted samples. */
export function latencies(samples: number[]): Latencies {
  const sorted = [...samples].sort((a, b) => a - b);
  const r = (v: number) => Number(v.toFixed(2));
  return {
    p50_ms: r(percentile(sorted, 50)),
    p95_ms: r(percentile(sorted, 95)),
    p99_ms: r(percentile(sorted, 99)),
    mean_ms: r(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
  };
}

/** Seconds since `t` (a performance.now()), to 0.1. */
export const since = (t: number): number => Number(((performance.now() - t) / 1000).toFixed(1));

/** `fn` of every item, at most `inFlight` at once, in order of start. */
export async function inParallel<T>(items: readonly T[], inFlight: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, items.length)) }, worker));
}

/** Writes a line to stderr every `ms` from a timer (long builds), until the returned stop is called. */
export function every(ms: number, tick: () => Promise<string> | string): () => void {
  const timer = setInterval(() => {
    void Promise.resolve()
      .then(tick)
      .then(
        (line) => process.stderr.write(`  … ${line}\n`),
        (error: unknown) => process.stderr.write(`  … (progress unavailable: ${String(error)})\n`),
      );
  }, ms);
  return () => clearInterval(timer);
}

export interface QueryTruth {
  vector: Float32Array;
  truth: Array<{ id: number; score: number }>;
}

export interface AnnRow extends Latencies {
  recall10: number;
  /** Queries whose recall@10 is under 0.5 (a graph that never reached the query's neighbourhood). */
  lost: number;
  queries: number;
}

/**
 * pgvector binary form of an array of vectors (`vector[]`, rows `start` to `end` of `set`), for a
 * binary-format bind parameter: array header, then per element its length, dim (int16), an unused
 * int16 and the floats, big-endian. Sends 4 bytes a float instead of ~20 characters of text.
 */
function binaryVectorArray(set: ClusteredVectors, start: number, end: number, elementOid: number): Buffer {
  const dims = set.dim;
  const element = 4 + dims * 4;
  const n = end - start;
  const buf = Buffer.allocUnsafe(20 + n * (4 + element));
  buf.writeInt32BE(1, 0); // dimensions of the array
  buf.writeInt32BE(0, 4); // no nulls
  buf.writeUInt32BE(elementOid, 8);
  buf.writeInt32BE(n, 12);
  buf.writeInt32BE(1, 16); // lower bound
  let at = 20;
  for (let r = start; r < end; r++) {
    buf.writeInt32BE(element, at);
    buf.writeInt16BE(dims, at + 4);
    buf.writeInt16BE(0, at + 6);
    at += 8;
    const row = set.data.subarray(r * dims, (r + 1) * dims);
    for (let j = 0; j < dims; j++, at += 4) buf.writeFloatBE(row[j]!, at);
  }
  return buf;
}

export interface PgVectorsResult {
  rows: number;
  load_s: number;
  load_rows_per_s: number;
  index_s: number;
  index_rows_per_s: number;
  hnsw: { m: number; ef_construction: number; maintenance_work_mem: string; parallel_workers: number };
  table_bytes: number;
  index_bytes: number;
  plan_uses_hnsw: boolean;
  ef: Record<string, AnnRow>;
}

/**
 * The synthetic vectors in PostgreSQL: a plain `v(id bigint primary key, embedding vector(d))`
 * table in `schema`, loaded by multi-row inserts (`unnest` of a binary `vector[]` parameter, two
 * batches in flight), THEN one HNSW (cosine) index built over it (timed apart, progress every
 * 30 s); then the queries, one client, at each `hnsw.ef_search`: p50/p95/p99 and recall@10.
 */
export async function pgVectors(options: {
  url: string;
  schema: string;
  set: ClusteredVectors;
  queries: QueryTruth[];
  warmup: Float32Array[];
  ef: number[];
  m: number;
  efConstruction: number;
}): Promise<PgVectorsResult> {
  const { set, schema } = options;
  const rows = set.options.rows;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const admin = openPostgres({ url: options.url, schema }, { max: 3 });
  let builder: PoolClient | null = null;
  try {
    await admin.query(`create schema if not exists ${schema}`);
    const ext = await ensurePgvector(admin);
    const vectorType = `${ext}.vector`;
    await admin.query(`drop table if exists v`);
    await admin.query(`create table v (id bigint primary key, embedding ${vectorType}(${set.dim}) not null)`);
    const oid = Number(
      (await admin.query<{ oid: string }>("select to_regtype($1)::oid as oid", [vectorType])).rows[0]!.oid,
    );

    // The load: batches of 5,000 rows, two in flight (one being encoded here while the server parses the other).
    const BATCH = 5000;
    const batches: Array<[number, number]> = [];
    for (let s = 0; s < rows; s += BATCH) batches.push([s, Math.min(rows, s + BATCH)]);
    let loaded = 0;
    const loadStarted = performance.now();
    const stopLoad = every(30_000, () => `${since(loadStarted)} s: ${loaded} of ${rows} rows loaded`);
    try {
      await inParallel(batches, 2, async ([s, e]) => {
        const ids = Array.from({ length: e - s }, (_, i) => s + i + 1);
        await admin.query(`insert into v(id, embedding) select * from unnest($1::bigint[], $2::${vectorType}[])`, [
          ids,
          binaryVectorArray(set, s, e, oid),
        ]);
        loaded += e - s;
      });
    } finally {
      stopLoad();
    }
    const load_s = since(loadStarted);
    await admin.query("vacuum analyze v");
    log(`postgres: ${rows} vectors loaded in ${load_s} s (${Math.round(rows / load_s)}/s); building the HNSW index …`);

    // The index, on a connection of its own with the build's settings; progress from another.
    builder = await admin.connect();
    builder.on("notice", (n) => log(`  postgres notice: ${n.message}`));
    const mwm = "4GB";
    await builder.query(`set maintenance_work_mem = '${mwm}'`);
    await builder.query("set max_parallel_maintenance_workers = 1");
    const indexStarted = performance.now();
    const stopIndex = every(30_000, async () => {
      const p = (
        await admin.query<{ phase: string; tuples_done: string; tuples_total: string }>(
          "select phase, tuples_done, tuples_total from pg_stat_progress_create_index where relid = 'v'::regclass",
        )
      ).rows[0];
      const done = Number(p?.tuples_done ?? 0);
      const rate = done > 0 ? `, ${Math.round(done / since(indexStarted))}/s` : "";
      return `${since(indexStarted)} s building: ${p ? `${p.phase}, ${done} of ${p.tuples_total} tuples${rate}` : "(no progress row)"}`;
    });
    try {
      await builder.query(
        `create index v_hnsw on v using hnsw (embedding ${ext}.vector_cosine_ops) with (m = ${options.m}, ef_construction = ${options.efConstruction})`,
      );
    } finally {
      stopIndex();
    }
    const index_s = since(indexStarted);
    log(`postgres: HNSW index of ${rows} vectors built in ${index_s} s (${Math.round(rows / index_s)}/s)`);
    const sizes = (
      await admin.query<{ table_bytes: string; index_bytes: string }>(
        "select pg_total_relation_size('v') as table_bytes, pg_relation_size('v_hnsw') as index_bytes",
      )
    ).rows[0]!;

    // The queries: one client, sequential, as the product's dense search asks (text vector literal).
    const sql = `select id from v order by embedding operator(${ext}.<=>) $1::${vectorType} limit 10`;
    const plan = (
      await builder.query<{ "QUERY PLAN": string }>(`explain ${sql}`, [vectorLiteral(options.queries[0]!.vector)])
    ).rows
      .map((r) => r["QUERY PLAN"])
      .join("\n");
    const plan_uses_hnsw = plan.includes("v_hnsw");
    if (!plan_uses_hnsw) log(`postgres: the query plan does not use the HNSW index:\n${plan}`);
    const ef: Record<string, AnnRow> = {};
    for (const value of options.ef) {
      await builder.query(`set hnsw.ef_search = ${Number(value)}`);
      for (const w of options.warmup) await builder.query(sql, [vectorLiteral(w)]);
      const samples: number[] = [];
      let recall = 0;
      let lost = 0;
      for (const q of options.queries) {
        const t = performance.now();
        const res = await builder.query<{ id: string }>(sql, [vectorLiteral(q.vector)]);
        samples.push(performance.now() - t);
        const r = set.recall(
          q.vector,
          res.rows.map((row) => Number(row.id)),
          q.truth,
          10,
        );
        recall += r;
        if (r < 0.5) lost++;
      }
      ef[String(value)] = {
        ...latencies(samples),
        recall10: Number((recall / options.queries.length).toFixed(4)),
        lost,
        queries: options.queries.length,
      };
      const row = ef[String(value)]!;
      log(
        `postgres HNSW, ef_search ${value}: p50 ${row.p50_ms} ms, p95 ${row.p95_ms} ms, p99 ${row.p99_ms} ms, recall@10 ${row.recall10} (${row.lost} of ${row.queries} queries under 0.5)`,
      );
    }
    return {
      rows,
      load_s,
      load_rows_per_s: Math.round(rows / load_s),
      index_s,
      index_rows_per_s: Math.round(rows / index_s),
      hnsw: { m: options.m, ef_construction: options.efConstruction, maintenance_work_mem: mwm, parallel_workers: 1 },
      table_bytes: Number(sizes.table_bytes),
      index_bytes: Number(sizes.index_bytes),
      plan_uses_hnsw,
      ef,
    };
  } finally {
    builder?.release();
    await admin.end();
  }
}

export interface SqliteVectorsResult extends AnnRow {
  rows: number;
  load_s: number;
  load_rows_per_s: number;
  bytes: number;
}

/**
 * The synthetic vectors in a sqlite-vec `vec0` table (cosine), as the index keeps a collection's
 * vectors: loaded in transactions of 10,000 rows, then `embedding match ? and k = 10` (an exact
 * scan of every vector) for each query, one at a time: latency and recall@10 (1 by construction,
 * checked).
 */
export function sqliteVectors(options: {
  path: string;
  set: ClusteredVectors;
  queries: QueryTruth[];
}): SqliteVectorsResult {
  const { set } = options;
  const rows = set.options.rows;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const db = openSqlite(options.path, { vectors: true });
  try {
    db.exec(`create virtual table v using vec0(embedding float[${set.dim}] distance_metric=cosine)`);
    const insert = db.prepare("insert into v(rowid, embedding) values (?, ?)");
    const batch = db.transaction((start: number, end: number) => {
      for (let r = start; r < end; r++) {
        const row = set.data.subarray(r * set.dim, (r + 1) * set.dim);
        insert.run(BigInt(r + 1), Buffer.from(row.buffer, row.byteOffset, row.byteLength));
      }
    });
    const loadStarted = performance.now();
    let reported = loadStarted;
    for (let s = 0; s < rows; s += 10_000) {
      batch(s, Math.min(rows, s + 10_000));
      if (performance.now() - reported > 30_000) {
        reported = performance.now();
        log(`  … ${since(loadStarted)} s: ${Math.min(rows, s + 10_000)} of ${rows} rows in sqlite-vec`);
      }
    }
    const load_s = since(loadStarted);
    const size = sqliteBytes(options.path);
    const bytes = size.db + size.wal;
    log(`sqlite-vec: ${rows} vectors loaded in ${load_s} s; ${options.queries.length} scans …`);
    const knn = db.prepare<[Buffer], { rowid: number; distance: number }>(
      "select rowid, distance from v where embedding match ? and k = 10",
    );
    const asBytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    knn.all(asBytes(options.queries[0]!.vector)); // warm-up: the file into the page cache
    const samples: number[] = [];
    let recall = 0;
    let lost = 0;
    for (const q of options.queries) {
      const t = performance.now();
      const found = knn.all(asBytes(q.vector));
      samples.push(performance.now() - t);
      const r = set.recall(
        q.vector,
        found.map((row) => Number(row.rowid)),
        q.truth,
        10,
      );
      recall += r;
      if (r < 0.5) lost++;
    }
    const result = {
      rows,
      load_s,
      load_rows_per_s: Math.round(rows / load_s),
      bytes,
      ...latencies(samples),
      recall10: Number((recall / options.queries.length).toFixed(4)),
      lost,
      queries: options.queries.length,
    };
    log(
      `sqlite-vec scan: p50 ${result.p50_ms} ms, p95 ${result.p95_ms} ms, p99 ${result.p99_ms} ms, recall@10 ${result.recall10}`,
    );
    return result;
  } finally {
    db.close();
  }
}

/** Bytes of an SQLite file and its WAL. */
export function sqliteBytes(path: string): { db: number; wal: number } {
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  return { db: size(path), wal: size(`${path}-wal`) };
}
