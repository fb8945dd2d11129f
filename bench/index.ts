/**
 * The index adapters side by side, in process, on the Debian descriptions corpus (hash embedder):
 * SQLite (FTS5 + sqlite-vec, one file) against PostgreSQL (BM25 over a postings table + pgvector
 * HNSW) in one run. Per backend: the time to write every document (SQLite `--writers` writes in
 * flight, group-committed; PostgreSQL `--pg-writers`, as several workers would, with the HNSW
 * index present as the product writes it), the index's size on disk, then `--queries` known-item
 * queries through the product's Retriever, one at a time after a warm-up, lexical, dense and
 * hybrid: p50/p95/p99 and nDCG@10 (and how many of the top 10 the backends share).
 *
 * Then `--vectors` synthetic 384-d clustered unit vectors: PostgreSQL bulk load and HNSW build
 * (`--m`, `--ef-construction`, default postgres.hnsw's 24 and 128; timed apart) and dense
 * p50/p95/p99 with recall@10 against the exact top 10 at each `--ef`; sqlite-vec's exact scan over
 * the same vectors, to show where each stops scaling. Human tables first, one JSON line last.
 *
 * Both adapters are measured as IndexStores (what `sluice query`, workers and the library search);
 * `sluice serve` on SQLite answers from in-memory search segments instead (bench:segments).
 *
 *   npm run bench:index [-- --docs 64000 --queries 2000 --vectors 1000000 --ef 100,200,400]
 *   [--m 24 --ef-construction 128]
 *   [--pg-url postgres://postgres@127.0.0.1:5432/sluice_bench] [--skip-sqlite-1m] [--keep]
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseConfig } from "../src/config/load-config.ts";
import { dropTestSchema, ensureTestDatabase } from "../src/db/postgres/postgres.fixture.ts";
import { ndcgAt } from "../src/eval/metrics.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { type RetrievalMode, Retriever } from "../src/retrieval/retriever.ts";
import type { IndexStore } from "../src/store/index-store.ts";
import { PostgresIndexStore } from "../src/store/postgres/postgres-index-store.ts";
import { SqliteIndexStore } from "../src/store/sqlite/sqlite-index-store.ts";
import { benchCorpus, debianQueries } from "./corpus.ts";
import { ClusteredVectors } from "./index/clustered.ts";
import { prepareDocuments } from "./index/documents.ts";
import {
  every,
  inParallel,
  type Latencies,
  latencies,
  pgVectors,
  type PgVectorsResult,
  type QueryTruth,
  since,
  sqliteBytes,
  sqliteVectors,
  type SqliteVectorsResult,
} from "./index/vectors.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const config = parseConfig({ embedder: { backend: "hash" } });
const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "64000" },
    queries: { type: "string", default: "2000" },
    warmup: { type: "string", default: "100" },
    writers: { type: "string", default: String(config.ingest.concurrency) },
    "pg-writers": { type: "string", default: "8" },
    vectors: { type: "string", default: "1000000" },
    "vector-queries": { type: "string", default: "200" },
    "sqlite-1m-queries": { type: "string", default: "50" },
    ef: { type: "string", default: "100,200,400" },
    // The 1M index's build settings (default: postgres.hnsw's).
    m: { type: "string", default: String(config.postgres.hnsw.m) },
    "ef-construction": { type: "string", default: String(config.postgres.hnsw.efConstruction) },
    clusters: { type: "string" },
    noise: { type: "string", default: "1" },
    "skip-sqlite-1m": { type: "boolean", default: false },
    "pg-url": {
      type: "string",
      default: process.env["SLUICE_BENCH_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/sluice_bench",
    },
    keep: { type: "boolean", default: false },
  },
});
const nDocs = Number(values.docs);
const nQueries = Number(values.queries);
const nWarmup = Number(values.warmup);
const nVectors = Number(values.vectors);
const efList = values.ef.split(",").map(Number);
const pgUrl = values["pg-url"];
const runId = randomBytes(4).toString("hex");
const schema = `bench_index_${runId}`;
const workDir = join(ROOT, "bench", ".cache", `index-${runId}`);
const log = (line: string) => process.stderr.write(`${line}\n`);
const MODES: RetrievalMode[] = ["lexical", "dense", "hybrid"];
const COLLECTION = "debian";

// ---- the corpus, the queries and the writes, prepared once ----
const corpusPath = await benchCorpus(nDocs);
const embedder = new HashEmbedder({
  dimensions: config.embedder.backend === "hash" ? config.embedder.dimensions : 256,
});
log(`preparing ${nDocs} documents (parse, chunk, embed, analyze) …`);
const prepared = await prepareDocuments(corpusPath, config, embedder);
const docIds = new Set(prepared.inputs.map((i) => i.document.id));
const known = debianQueries().filter((q) => docIds.has(q.doc));
const measured = known.slice(0, nQueries);
// Warm-up queries from beyond the measured ones where the corpus has them.
const warm = (known.length >= nQueries + nWarmup ? known.slice(nQueries) : known).slice(0, nWarmup);
log(
  `${prepared.inputs.length} documents, ${prepared.chunks} chunks, prepared in ${prepared.seconds.toFixed(1)} s; ${measured.length} queries (+${warm.length} warm-up)`,
);

interface ModeResult extends Latencies {
  ndcg10: number;
}
interface BackendResult {
  build_s: number;
  docs_per_s: number;
  chunks_per_s: number;
  writers: number;
  bytes: Record<string, number> & { total: number };
  queries: Record<string, ModeResult>;
}
/** Per backend and mode, each query's top-10 chunk ids (for agreement). */
const tops = new Map<string, string[][]>();

async function build(store: IndexStore, writers: number): Promise<{ build_s: number }> {
  await store.ensureCollection(COLLECTION);
  let written = 0;
  const started = performance.now();
  const stop = every(30_000, () => `${since(started)} s: ${written} of ${prepared.inputs.length} documents written`);
  try {
    await inParallel(prepared.inputs, writers, async (input) => {
      const result = await store.writeDocument(COLLECTION, input);
      if (result.outcome !== "inserted") throw new Error(`${input.document.id}: ${result.outcome}`);
      written++;
    });
  } finally {
    stop();
  }
  return { build_s: since(started) };
}

async function query(backend: string, store: IndexStore): Promise<Record<string, ModeResult>> {
  const retriever = new Retriever(store, () => embedder, config.retrieval);
  const out: Record<string, ModeResult> = {};
  for (const mode of MODES) {
    for (const q of warm) await retriever.retrieve(COLLECTION, q.text, { mode, k: 10 });
    const samples: number[] = [];
    const top: string[][] = [];
    let gain = 0;
    for (const q of measured) {
      const t = performance.now();
      const hits = await retriever.retrieve(COLLECTION, q.text, { mode, k: 10 });
      samples.push(performance.now() - t);
      top.push(hits.map((h) => h.chunk.chunkId));
      gain += ndcgAt([...new Set(hits.map((h) => h.chunk.docId))], new Map([[q.doc, 1]]), 10);
    }
    tops.set(`${backend}:${mode}`, top);
    out[mode] = { ...latencies(samples), ndcg10: Number((gain / Math.max(1, measured.length)).toFixed(4)) };
    const r = out[mode];
    log(`${backend} ${mode}: p50 ${r.p50_ms} ms, p95 ${r.p95_ms} ms, p99 ${r.p99_ms} ms, nDCG@10 ${r.ndcg10}`);
  }
  return out;
}

const rate = (n: number, s: number) => Math.round(n / Math.max(s, 1e-9));

async function sqliteRun(): Promise<BackendResult> {
  const path = join(workDir, "index.db");
  const store = new SqliteIndexStore(path);
  await store.open();
  try {
    const writers = Number(values.writers);
    log(`sqlite: writing ${prepared.inputs.length} documents, ${writers} in flight …`);
    const { build_s } = await build(store, writers);
    const size = sqliteBytes(path);
    log(`sqlite: built in ${build_s} s (${rate(prepared.inputs.length, build_s)} docs/s), ${mb(size.db + size.wal)}`);
    return {
      build_s,
      docs_per_s: rate(prepared.inputs.length, build_s),
      chunks_per_s: rate(prepared.chunks, build_s),
      writers,
      bytes: { ...size, total: size.db + size.wal },
      queries: await query("sqlite", store),
    };
  } finally {
    await store.close();
  }
}

async function postgresRun(): Promise<BackendResult & { hnsw: object; vacuum_analyze_s: number }> {
  const hnsw = config.postgres.hnsw;
  const store = new PostgresIndexStore({ url: pgUrl, schema }, { hnsw });
  await store.open();
  try {
    const writers = Number(values["pg-writers"]);
    log(`postgres: writing ${prepared.inputs.length} documents, ${writers} in flight (HNSW index present) …`);
    const { build_s } = await build(store, writers);
    const sizes = (
      await store.pool.query<{ name: string; bytes: string; hnsw: boolean }>(
        `select t.tablename as name, pg_total_relation_size(format('%I.%I', t.schemaname, t.tablename)) as bytes,
                false as hnsw
         from pg_tables t where t.schemaname = $1
         union all
         select i.indexname, pg_relation_size(format('%I.%I', i.schemaname, i.indexname)), true
         from pg_indexes i where i.schemaname = $1 and i.indexdef ilike '%using hnsw%'`,
        [schema],
      )
    ).rows;
    const bytes: Record<string, number> & { total: number } = { total: 0 };
    for (const r of sizes) {
      if (r.hnsw) bytes.hnsw_index = Number(r.bytes);
      else {
        bytes[r.name] = Number(r.bytes);
        bytes.total += Number(r.bytes);
      }
    }
    log(`postgres: built in ${build_s} s (${rate(prepared.inputs.length, build_s)} docs/s), ${mb(bytes.total)}`);
    // What autovacuum does after a bulk load (statistics, visibility map), done now so plans are settled.
    const vacuumStarted = performance.now();
    const tables = sizes.filter((r) => !r.hnsw).map((r) => `${schema}.${r.name}`);
    await store.pool.query(`vacuum (analyze) ${tables.join(", ")}`);
    const vacuum_analyze_s = since(vacuumStarted);
    return {
      build_s,
      docs_per_s: rate(prepared.inputs.length, build_s),
      chunks_per_s: rate(prepared.chunks, build_s),
      writers,
      hnsw: { m: hnsw.m, ef_construction: hnsw.efConstruction, ef_search: hnsw.efSearch },
      vacuum_analyze_s,
      bytes,
      queries: await query("postgres", store),
    };
  } finally {
    await store.close();
  }
}

function mb(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/** Mean share of top-10 chunks the two backends have in common, per query. */
function agreement(mode: string): number {
  const a = tops.get(`sqlite:${mode}`) ?? [];
  const b = tops.get(`postgres:${mode}`) ?? [];
  let sum = 0;
  a.forEach((top, i) => {
    const other = new Set(b[i]);
    const denominator = Math.max(top.length, b[i]?.length ?? 0);
    sum += denominator === 0 ? 1 : top.filter((id) => other.has(id)).length / denominator;
  });
  return Number((sum / Math.max(1, a.length)).toFixed(4));
}

function table(rows: Array<Record<string, string | number>>): void {
  const keys = Object.keys(rows[0] ?? {});
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join("  ");
  console.log(line(keys));
  for (const r of rows) console.log(line(keys.map((k) => String(r[k]))));
}

let sqlite: BackendResult | undefined;
let postgres: Awaited<ReturnType<typeof postgresRun>> | undefined;
let vectors:
  | {
      rows: number;
      dimensions: number;
      clusters: number;
      noise: number;
      generate_s: number;
      exact_s: number;
      queries: number;
      postgres: PgVectorsResult;
      sqlite: SqliteVectorsResult | null;
    }
  | undefined;
mkdirSync(workDir, { recursive: true });
await ensureTestDatabase(pgUrl);
log(`PostgreSQL schema ${schema}, files in ${workDir} (removed at the end unless --keep)`);
try {
  sqlite = await sqliteRun();
  postgres = await postgresRun();

  console.log(
    `\n${prepared.inputs.length} Debian descriptions, ${prepared.chunks} chunks (${prepared.path}); ${measured.length} queries, one client, after ${warm.length} warm-up`,
  );
  table(
    (
      [
        ["sqlite", sqlite],
        ["postgres", postgres],
      ] as const
    ).map(([name, r]) => ({
      backend: name,
      writers: r.writers,
      "build s": r.build_s,
      "docs/s": r.docs_per_s,
      "size MB": Number((r.bytes.total / 2 ** 20).toFixed(1)),
    })),
  );
  console.log("");
  table(
    MODES.flatMap((mode) =>
      (
        [
          ["sqlite", sqlite!],
          ["postgres", postgres!],
        ] as const
      ).map(([name, r]) => ({
        mode,
        backend: name,
        "p50 ms": r.queries[mode]!.p50_ms,
        "p95 ms": r.queries[mode]!.p95_ms,
        "p99 ms": r.queries[mode]!.p99_ms,
        "nDCG@10": r.queries[mode]!.ndcg10,
        "top-10 shared": agreement(mode),
      })),
    ),
  );

  if (nVectors > 0) {
    const dimensions = 384;
    const clusters = values.clusters ? Number(values.clusters) : Math.max(1, Math.round(nVectors / 400));
    const noise = Number(values.noise);
    log(`\ngenerating ${nVectors} ${dimensions}-d vectors in ${clusters} clusters (noise ${noise}) …`);
    const genStarted = performance.now();
    const set = new ClusteredVectors({ rows: nVectors, dimensions, clusters, noise, seed: 7 });
    for (let s = 0; s < nVectors; s += 100_000) set.generate(s, Math.min(nVectors, s + 100_000));
    const generate_s = since(genStarted);
    const exactStarted = performance.now();
    const queryVectors = set.queries(Number(values["vector-queries"]));
    const truths: QueryTruth[] = queryVectors.map((vector) => ({ vector, truth: set.exact(vector, 10) }));
    const exact_s = since(exactStarted);
    log(`generated in ${generate_s} s; exact top 10 of ${truths.length} queries in ${exact_s} s`);
    const pg = await pgVectors({
      url: pgUrl,
      schema,
      set,
      queries: truths,
      warmup: set.queries(50, 99),
      ef: efList,
      m: Number(values.m),
      efConstruction: Number(values["ef-construction"]),
    });
    const sq = values["skip-sqlite-1m"]
      ? null
      : sqliteVectors({
          path: join(workDir, "vectors.db"),
          set,
          queries: truths.slice(0, Number(values["sqlite-1m-queries"])),
        });
    vectors = {
      rows: nVectors,
      dimensions,
      clusters,
      noise,
      generate_s,
      exact_s,
      queries: truths.length,
      postgres: pg,
      sqlite: sq,
    };
    console.log(
      `\n${nVectors} clustered ${dimensions}-d vectors: PostgreSQL load ${pg.load_s} s, HNSW build ${pg.index_s} s (${pg.index_rows_per_s}/s), table+index ${mb(pg.table_bytes)} (HNSW ${mb(pg.index_bytes)})${sq ? `; sqlite-vec load ${sq.load_s} s, ${mb(sq.bytes)}` : ""}`,
    );
    table([
      ...Object.entries(pg.ef).map(([ef, r]) => ({
        search: `postgres HNSW ef_search ${ef}`,
        queries: r.queries,
        "p50 ms": r.p50_ms,
        "p95 ms": r.p95_ms,
        "p99 ms": r.p99_ms,
        "recall@10": r.recall10,
      })),
      ...(sq
        ? [
            {
              search: "sqlite-vec scan",
              queries: sq.queries,
              "p50 ms": sq.p50_ms,
              "p95 ms": sq.p95_ms,
              "p99 ms": sq.p99_ms,
              "recall@10": sq.recall10,
            },
          ]
        : []),
    ]);
  }
} finally {
  if (!values.keep) {
    await dropTestSchema(schema, pgUrl).catch((e: unknown) => log(`could not drop schema ${schema}: ${String(e)}`));
    rmSync(workDir, { recursive: true, force: true });
  } else log(`kept: PostgreSQL schema ${schema} in ${pgUrl}, files in ${workDir}`);
}

const pgHybridP95 = postgres.queries.hybrid!.p95_ms;
// Of the ef_search values that reach recall@10 ≥ 0.95, the one with the lowest p95 decides.
const best = vectors
  ? Object.entries(vectors.postgres.ef)
      .filter(([, r]) => r.recall10 >= 0.95)
      .sort((a, b) => a[1].p95_ms - b[1].p95_ms)[0]
  : undefined;
console.log(
  JSON.stringify({
    bench: "index",
    corpus: {
      docs: prepared.inputs.length,
      chunks: prepared.chunks,
      path: prepared.path,
      prepare_s: Number(prepared.seconds.toFixed(1)),
      queries: measured.length,
      warmup: warm.length,
      embedder: embedder.id,
    },
    sqlite,
    postgres,
    agreement: Object.fromEntries(MODES.map((m) => [m, agreement(m)])),
    vectors: vectors ?? null,
    targets: {
      pgHybridP95Under50ms: pgHybridP95 < 50,
      pgHybridP95Ms: pgHybridP95,
      pgDense1mP95Under50msRecall95: vectors ? best !== undefined && best[1].p95_ms < 50 : null,
      pgDense1m: vectors
        ? {
            vectors: vectors.rows,
            ef: best ? Number(best[0]) : null,
            p95_ms: best ? best[1].p95_ms : null,
            recall10: best ? best[1].recall10 : null,
          }
        : null,
    },
  }),
);
