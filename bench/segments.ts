/**
 * Search segments against the SQLite index they stand in for, in process, on the index
 * `npm run bench:query` builds (bench/.cache/query-<docs>/): the same 2,000 known-item queries
 * through FTS5 bm25() and the lexical segment (MaxScore), and through sqlite-vec and the dense
 * segment (SIMD scan); per engine p50/p95 and nDCG@10, how many of the top 10 agree, and the
 * segments' build time and size. Then the IVF index (`retrieval.segments.ann`) against the exact
 * scan: its build time, and per number of lists probed p50/p95 and recall@10 against the exact
 * top 10, on the Debian hash vectors, on the first `--static` Debian descriptions embedded by
 * the bundled static embedder (real embeddings, 512-d), and on `--synthetic` clustered vectors.
 *
 *   npm run bench:segments [-- --docs 64000 --queries 2000 --static 20000 --synthetic 250000]
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { StaticEmbedder } from "../src/models/backends/static-embedder.ts";
import { buildSegments } from "../src/store/segments/build-segments.ts";
import { type DenseSegment, DenseSegmentBuilder } from "../src/store/segments/dense-segment.ts";
import { seededRandom } from "../src/store/segments/seeded-random.ts";
import type { ScoredRow } from "../src/store/index-store.ts";
import { SqliteIndexStore } from "../src/store/sqlite/sqlite-index-store.ts";
import { analyze } from "../src/text/analyzer.ts";
import { benchCorpus, debianQueries } from "./corpus.ts";
import { percentile } from "./serve-helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "64000" },
    queries: { type: "string", default: "2000" },
    synthetic: { type: "string", default: "250000" },
    static: { type: "string", default: "20000" },
  },
});
const home = join(ROOT, "bench", ".cache", `query-${values.docs}`);
if (!existsSync(join(home, "ready"))) throw new Error(`no index in ${home}: run npm run bench:query first`);
const queries = debianQueries().slice(0, Number(values.queries));

const store = new SqliteIndexStore(join(home, "data", "index.db"));
await store.open();
const started = performance.now();
const set = await buildSegments(store, "debian");
if (!set) throw new Error("the collection changed while it was read");
const buildSeconds = (performance.now() - started) / 1000;
console.log(
  `segments: ${set.stats.documents} chunks, ${set.stats.vectors} vectors, ${(set.stats.bytes / 2 ** 20).toFixed(0)} MB, built in ${buildSeconds.toFixed(1)} s (SIMD ${set.dense?.simd})`,
);

const embedder = new HashEmbedder({ dimensions: 256 });
const vectors = await embedder.embed(
  queries.map((q) => q.text),
  { kind: "query" },
);
const docOf = async (rows: ScoredRow[]) =>
  [
    ...(
      await store.getChunks(
        "debian",
        rows.map((r) => r.rowid),
      )
    ).values(),
  ].map((c) => c.docId);
const ndcg = (ranked: string[], doc: string) => {
  const rank = ranked.slice(0, 10).indexOf(doc);
  return rank < 0 ? 0 : 1 / Math.log2(rank + 2);
};

interface Engine {
  name: string;
  search: (i: number) => Promise<ScoredRow[]> | ScoredRow[];
}
const engines: Engine[] = [
  { name: "lexical, SQLite FTS5 bm25()", search: (i) => store.searchLexical("debian", analyze(queries[i]!.text), 10) },
  { name: "lexical, segment (MaxScore)", search: (i) => set.lexical.search(analyze(queries[i]!.text), 10) ?? [] },
  { name: "dense, sqlite-vec", search: (i) => store.searchDense("debian", vectors[i]!, 10) },
  { name: "dense, segment (SIMD scan)", search: (i) => set.dense!.search(vectors[i]!, 10) },
];
const results: Record<string, { p50_ms: number; p95_ms: number; ndcg10: number }> = {};
const tops = new Map<string, number[][]>();
for (const engine of engines) {
  const latencies: number[] = [];
  const gains: number[] = [];
  const top: number[][] = [];
  for (let i = 0; i < queries.length; i++) {
    const t = performance.now();
    const rows = await engine.search(i);
    latencies.push(performance.now() - t);
    top.push(rows.map((r) => r.rowid));
    gains.push(ndcg(await docOf(rows), queries[i]!.doc));
  }
  latencies.sort((a, b) => a - b);
  tops.set(engine.name, top);
  results[engine.name] = {
    p50_ms: Number(percentile(latencies, 50).toFixed(3)),
    p95_ms: Number(percentile(latencies, 95).toFixed(3)),
    ndcg10: Number((gains.reduce((a, g) => a + g, 0) / gains.length).toFixed(3)),
  };
  console.log(
    `${engine.name}: p50 ${results[engine.name]!.p50_ms} ms, p95 ${results[engine.name]!.p95_ms} ms, nDCG@10 ${results[engine.name]!.ndcg10}`,
  );
}
/** Share of top-10 rows the segment has in common with SQLite (ties can swap the last ones). */
const overlap = (a: string, b: string) => {
  const x = tops.get(a)!;
  const y = tops.get(b)!;
  let same = 0;
  let all = 0;
  x.forEach((row, i) => {
    const other = new Set(y[i]);
    same += row.filter((r) => other.has(r)).length;
    all += Math.max(row.length, y[i]!.length);
  });
  return Number((same / Math.max(1, all)).toFixed(4));
};
const agreement = {
  lexical: overlap(engines[0]!.name, engines[1]!.name),
  dense: overlap(engines[2]!.name, engines[3]!.name),
};
console.log(`top-10 agreement with SQLite: lexical ${agreement.lexical}, dense ${agreement.dense}`);

/** An IVF segment against the exact one on the same vectors: per probes, latency and recall@10. */
function annRows(label: string, exact: DenseSegment, ivf: DenseSegment, probe: Float32Array[]) {
  const truth = probe.map((q) => new Set(exact.search(q, 10).map((r) => r.rowid)));
  const timed = (search: (q: Float32Array) => ScoredRow[]) => {
    const latencies: number[] = [];
    let found = 0;
    probe.forEach((q, i) => {
      const t = performance.now();
      const rows = search(q);
      latencies.push(performance.now() - t);
      found += rows.filter((r) => truth[i]!.has(r.rowid)).length;
    });
    latencies.sort((a, b) => a - b);
    return {
      p50_ms: Number(percentile(latencies, 50).toFixed(3)),
      p95_ms: Number(percentile(latencies, 95).toFixed(3)),
      recall10: Number((found / (probe.length * 10)).toFixed(3)),
    };
  };
  const rows: Record<string, { p50_ms: number; p95_ms: number; recall10: number }> = {
    exact: timed((q) => exact.search(q, 10)),
  };
  const lists = ivf.ann!.lists;
  const settings = [...new Set([4, 8, 16, 32, 64, ivf.ann!.probes])].sort((a, b) => a - b);
  for (const probes of settings.filter((p) => p <= lists))
    rows[`probes ${probes}${probes === ivf.ann!.probes ? " (default)" : ""}`] = timed((q) =>
      ivf.search(q, 10, undefined, probes),
    );
  for (const [name, r] of Object.entries(rows))
    console.log(`${label}, ${name}: p50 ${r.p50_ms} ms, p95 ${r.p95_ms} ms, recall@10 ${r.recall10}`);
  return rows;
}

/** Builds an IVF segment (always, whatever its size) and reports its build time. */
function ivfOf(dimensions: number, add: (builder: DenseSegmentBuilder) => void, label: string) {
  const builder = new DenseSegmentBuilder(dimensions);
  add(builder);
  const t = performance.now();
  const ivf = builder.build({ minVectors: 1, lists: 0, probes: 0 });
  const seconds = (performance.now() - t) / 1000;
  console.log(`${label}: IVF of ${ivf.rows} vectors, ${ivf.ann!.lists} lists, trained in ${seconds.toFixed(1)} s`);
  return { ivf, build_s: Number(seconds.toFixed(1)) };
}

const debianVectors: Array<{ rowid: number; vector: Float32Array }> = [];
for await (const row of store.scanVectors("debian")) debianVectors.push(row);
const debianIvf = ivfOf(256, (b) => debianVectors.forEach((r) => b.add(r.rowid, r.vector)), "debian");
const ann: Record<string, unknown> = {
  debian: {
    vectors: debianVectors.length,
    lists: debianIvf.ivf.ann!.lists,
    build_s: debianIvf.build_s,
    search: annRows("debian", set.dense!, debianIvf.ivf, vectors),
  },
};

const staticDocs = Number(values.static);
if (staticDocs > 0) {
  // Real embeddings cluster as hash vectors do not: the bundled static embedder over the first
  // descriptions, its queries those of the same documents.
  const lines = readFileSync(await benchCorpus(Number(values.docs)), "utf8")
    .split("\n")
    .filter(Boolean);
  const docs = lines.slice(0, staticDocs).map((l) => JSON.parse(l) as { _id: string; title?: string; text: string });
  const staticEmbedder = new StaticEmbedder({ cachePath: join(home, "static-embedder.db") });
  await staticEmbedder.warmUp();
  const t = performance.now();
  const passages: Float32Array[] = [];
  for (let i = 0; i < docs.length; i += 512)
    passages.push(
      ...(await staticEmbedder.embed(
        docs.slice(i, i + 512).map((d) => `${d.title ?? ""}\n${d.text}`),
        { kind: "passage" },
      )),
    );
  console.log(`static: ${docs.length} descriptions embedded in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const inDocs = new Set(docs.map((d) => d._id));
  const probe = await staticEmbedder.embed(
    queries.filter((q) => inDocs.has(q.doc)).map((q) => q.text),
    { kind: "query" },
  );
  const exactBuilder = new DenseSegmentBuilder(staticEmbedder.dimensions);
  passages.forEach((v, i) => exactBuilder.add(i + 1, v));
  const { ivf, build_s } = ivfOf(
    staticEmbedder.dimensions,
    (b) => passages.forEach((v, i) => b.add(i + 1, v)),
    "static",
  );
  ann.static = {
    vectors: passages.length,
    lists: ivf.ann!.lists,
    build_s,
    search: annRows("static", exactBuilder.build(), ivf, probe),
  };
  await staticEmbedder.close();
}

const syntheticRows = Number(values.synthetic);
if (syntheticRows > 0) {
  // Clustered like real embeddings: unit vectors around 2,000 random centres.
  const random = seededRandom(11);
  const gauss = () => (random() + random() + random() + random() - 2) / 2;
  const dims = 256;
  const centres = Array.from({ length: 2000 }, () => Float32Array.from({ length: dims }, gauss));
  const draw = () => {
    const centre = centres[Math.floor(random() * centres.length)]!;
    return Float32Array.from(centre, (c) => c + gauss() * 1.2);
  };
  const exactBuilder = new DenseSegmentBuilder(dims);
  const { ivf, build_s } = ivfOf(
    dims,
    (b) => {
      for (let r = 1; r <= syntheticRows; r++) {
        const v = draw();
        b.add(r, v);
        exactBuilder.add(r, v);
      }
    },
    "synthetic",
  );
  const probe = Array.from({ length: 500 }, draw);
  ann.synthetic = {
    vectors: syntheticRows,
    lists: ivf.ann!.lists,
    build_s,
    search: annRows("synthetic", exactBuilder.build(), ivf, probe),
  };
}

await store.close();
console.log(
  JSON.stringify({
    docs: set.stats.documents,
    queries: queries.length,
    build_s: Number(buildSeconds.toFixed(1)),
    bytes: set.stats.bytes,
    results,
    agreement,
    ann,
  }),
);
