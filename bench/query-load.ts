/**
 * Queries under load: `sluice serve` over the Debian descriptions corpus (hash embedder, rate
 * limits off), closed-loop clients (each sends its next query as soon as the last returns) at 1,
 * 10 and 100 at once, retrieval-only lexical and hybrid with an extractive answer; then 100
 * clients again with admission control off (`api.queries.maxConcurrent` unbounded), as before it.
 * Per run: answered/s, refused/s (503 OVERLOADED), and p50/p95/p99 of answered queries. First,
 * nDCG@10 of the first 2,000 known-item queries (each summary line finds its package), lexical and
 * hybrid, which also lets the reader threads build their search segments. Then the same load
 * while `sluice ingest` writes the 64k corpus into another collection of the same index file (its
 * rate printed; the collection dropped after). Last, the same 2,000 queries through MiniSearch in
 * process, one at a time, as the peer. The index is built once into bench/.cache/query-<docs>/.
 *
 *   npm run bench:query [-- --docs 64000 --seconds 15 --clients 1,10,100]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import MiniSearch from "minisearch";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { benchCorpus, debianQueries } from "./corpus.ts";
import { listeningUrl, percentile } from "./serve-helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "64000" },
    seconds: { type: "string", default: "15" },
    clients: { type: "string", default: "1,10,100" },
  },
});
const n = Number(values.docs);
const seconds = Number(values.seconds);
const levels = values.clients.split(",").map(Number);

const corpus = await benchCorpus(n);
const docs = readFileSync(corpus, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { _id: string; title?: string; text: string });
const ids = new Set(docs.map((d) => d._id));
const queries = debianQueries().filter((q) => ids.has(q.doc));

// The index, built once.
const home = join(ROOT, "bench", ".cache", `query-${n}`);
const dataDir = join(home, "data");
const configPath = join(home, "sluice.yaml");
const baseConfig = {
  embedder: { backend: "hash", dimensions: 256 },
  api: { rateLimits: { answer: false, query: false } },
};
if (!existsSync(join(home, "ready"))) {
  mkdirSync(home, { recursive: true });
  process.stderr.write(`indexing ${n} documents into ${dataDir} (once) …\n`);
  const sluice = await Sluice.open({ dataDir, config: parseConfig(baseConfig) });
  const job = await sluice.submitPaths({ collection: "debian", paths: [corpus] });
  const done = await sluice.runJob(job.id);
  await sluice.close();
  if (done.done !== n) throw new Error(`indexed ${done.done} of ${n} documents`);
  writeFileSync(join(home, "ready"), "");
}

const yaml = (queriesBlock: string) =>
  [
    "embedder:\n  backend: hash\n  dimensions: 256",
    `api:\n  rateLimits:\n    answer: false\n    query: false\n${queriesBlock}`,
    "",
  ].join("\n");

async function serve(config: string): Promise<{ url: string; child: ChildProcess }> {
  writeFileSync(configPath, config);
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src", "cli", "main.ts"),
      "--data",
      dataDir,
      "--config",
      configPath,
      "serve",
      "--no-worker",
      "--port",
      "0",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return { url: await listeningUrl(child), child };
}

const ms = (v: number) => Number(v.toFixed(1));

/** nDCG@10 of a known-item query: 1/log2(rank+1) when its document is in the top 10. */
const ndcg = (ranked: readonly string[], doc: string) => {
  const rank = ranked.slice(0, 10).indexOf(doc);
  return rank < 0 ? 0 : 1 / Math.log2(rank + 2);
};

const QUALITY_QUERIES = 2000;
const qualitySet = queries.slice(0, QUALITY_QUERIES);

interface LoadResult {
  label: string;
  clients: number;
  answered_per_s: number;
  refused_per_s: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
}

async function load(
  url: string,
  label: string,
  clients: number,
  body: { mode: string; answer: boolean },
): Promise<LoadResult> {
  const latencies: number[] = [];
  let refused = 0;
  let next = 0;
  const until = performance.now() + seconds * 1000;
  const client = async () => {
    while (performance.now() < until) {
      const q = queries[next++ % queries.length]!;
      const started = performance.now();
      const res = await fetch(`${url}/v1/query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ collection: "debian", query: q.text, k: 10, ...body }),
      });
      const text = await res.text();
      if (res.status === 503) {
        refused++;
        // A refused client comes back after a short pause, as a real one would after Retry-After.
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (res.status !== 200) throw new Error(`${label}: ${res.status} ${text.slice(0, 300)}`);
      latencies.push(performance.now() - started);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const result: LoadResult = {
    label,
    clients,
    answered_per_s: Math.round(latencies.length / elapsed),
    refused_per_s: Math.round(refused / elapsed),
    p50_ms: ms(percentile(latencies, 50)),
    p95_ms: ms(percentile(latencies, 95)),
    p99_ms: ms(percentile(latencies, 99)),
  };
  console.log(
    `${label}, ${clients} clients: ${result.answered_per_s} answered/s, ${result.refused_per_s} refused/s; p50 ${result.p50_ms} ms, p95 ${result.p95_ms} ms, p99 ${result.p99_ms} ms`,
  );
  return result;
}

/** nDCG@10 over the first `QUALITY_QUERIES` queries, four at a time (also warms the readers' segments). */
async function quality(url: string, mode: string): Promise<number> {
  const gains: number[] = [];
  let next = 0;
  const client = async () => {
    for (let i = next++; i < qualitySet.length; i = next++) {
      const q = qualitySet[i]!;
      const res = await fetch(`${url}/v1/query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ collection: "debian", query: q.text, k: 10, mode, answer: false }),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`quality ${mode}: ${res.status} ${text.slice(0, 300)}`);
      const body = JSON.parse(text) as { results: Array<{ docId: string }> };
      gains[i] = ndcg(
        body.results.map((r) => r.docId),
        q.doc,
      );
    }
  };
  await Promise.all(Array.from({ length: 4 }, client));
  return Number((gains.reduce((a, g) => a + g, 0) / gains.length).toFixed(3));
}

console.log(`corpus: ${n} Debian package descriptions, ${queries.length} known-item queries, ${seconds} s per run`);
const runs: LoadResult[] = [];
const modes = [
  { label: "lexical", body: { mode: "lexical", answer: false } },
  { label: "hybrid + extractive answer", body: { mode: "hybrid", answer: true } },
];
let server = await serve(yaml(""));
const ndcg10: Record<string, number> = {};
try {
  for (const mode of ["lexical", "hybrid"]) ndcg10[mode] = await quality(server.url, mode);
  console.log(`nDCG@10 over ${qualitySet.length} queries: lexical ${ndcg10.lexical}, hybrid ${ndcg10.hybrid}`);
  for (const { label, body } of modes)
    for (const clients of levels) runs.push(await load(server.url, label, clients, body));
} finally {
  server.child.kill("SIGTERM");
}
// As before admission control: every query runs at once.
server = await serve(yaml("  queries:\n    maxConcurrent: 100000\n"));
try {
  // The same warm-up as the first server had (its readers build their segments meanwhile).
  for (const mode of ["lexical", "hybrid"]) await quality(server.url, mode);
  for (const { label, body } of modes)
    runs.push(await load(server.url, `${label}, admission off`, Math.max(...levels), body));
} finally {
  server.child.kill("SIGTERM");
}

// Under ingest: the same load while `sluice ingest --wait` writes the same corpus into another
// collection of the same index file (another process, as a worker would be).
const INGEST = "bench-ingest";
const indexedNow = async (url: string) => {
  const res = await fetch(`${url}/v1/collections/${INGEST}`);
  return res.status === 200 ? ((await res.json()) as { documents: number }).documents : 0;
};
server = await serve(yaml(""));
const ingest = spawn(
  process.execPath,
  ["--import", "tsx", join(ROOT, "src", "cli", "main.ts"), "--data", dataDir, "--config", configPath].concat([
    "ingest",
    corpus,
    "--collection",
    INGEST,
    "--wait",
  ]),
  { stdio: ["ignore", "ignore", "inherit"] },
);
const ingestExited = new Promise<void>((resolve) => ingest.once("exit", () => resolve()));
let ingestRate = 0;
let ingestRunning = true;
try {
  for (const mode of ["lexical", "hybrid"]) await quality(server.url, mode);
  // Until the ingest is writing.
  for (let i = 0; i < 120 && (await indexedNow(server.url)) === 0; i++) await new Promise((r) => setTimeout(r, 500));
  const from = { docs: await indexedNow(server.url), at: performance.now() };
  for (const { label, body } of modes)
    for (const clients of levels) runs.push(await load(server.url, `${label}, during ingest`, clients, body));
  ingestRunning = ingest.exitCode === null && ingest.signalCode === null;
  ingestRate = Math.round(((await indexedNow(server.url)) - from.docs) / ((performance.now() - from.at) / 1000));
  console.log(
    `ingest into "${INGEST}" meanwhile: ${ingestRate} docs/s${ingestRunning ? "" : " (it finished before the last run ended)"}`,
  );
} finally {
  server.child.kill("SIGTERM");
  // Let it finish (a killed job would leave its records in the spool for the next run to find).
  const killer = setTimeout(() => ingest.kill("SIGTERM"), 15 * 60_000);
  await ingestExited;
  clearTimeout(killer);
}
// The cached index keeps only the corpus the runs read.
{
  const sluice = await Sluice.open({ dataDir, config: parseConfig(baseConfig) });
  await sluice.store.dropCollection(INGEST);
  await sluice.close();
}

// The peer: MiniSearch in process, the same documents, the same queries one at a time.
let started = performance.now();
const mini = new MiniSearch<{ id: string; title: string; text: string }>({ fields: ["title", "text"], idField: "id" });
mini.addAll(docs.map((d) => ({ id: d._id, title: d.title ?? "", text: d.text })));
const buildSeconds = (performance.now() - started) / 1000;
const miniLatencies: number[] = [];
const miniGains: number[] = [];
for (const q of qualitySet) {
  started = performance.now();
  const hits = mini.search(q.text).slice(0, 10);
  miniLatencies.push(performance.now() - started);
  miniGains.push(
    ndcg(
      hits.map((h) => String(h.id)),
      q.doc,
    ),
  );
}
miniLatencies.sort((a, b) => a - b);
const peer = {
  build_s: Number(buildSeconds.toFixed(1)),
  p50_ms: ms(percentile(miniLatencies, 50)),
  p95_ms: ms(percentile(miniLatencies, 95)),
  ndcg10: Number((miniGains.reduce((a, g) => a + g, 0) / miniGains.length).toFixed(3)),
  queries: miniLatencies.length,
};
console.log(
  `peer, MiniSearch in process (one query at a time, ${peer.queries} queries): p50 ${peer.p50_ms} ms, p95 ${peer.p95_ms} ms, nDCG@10 ${peer.ndcg10}; index built in ${peer.build_s} s`,
);
console.log(
  JSON.stringify({
    docs: n,
    queries: queries.length,
    seconds,
    ndcg10,
    runs,
    ingest_docs_per_s: ingestRate,
    ingest_running_throughout: ingestRunning,
    peer_minisearch: peer,
  }),
);
