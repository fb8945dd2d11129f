/**
 * Ingest throughput of the default pipeline on a real corpus, side by side with the engine alone
 * (hash embedder) and LlamaIndex.TS's in-memory pipeline on the same documents, plus the dense
 * embed stage alone and the default model's query-embedding latency. Prints readable lines, then
 * one JSON object.
 *
 * The default pipeline runs twice on one data folder: first on a fresh folder, where the static
 * embedder's teacher meets every word for the first time, then into a second collection, where
 * the words are known (the steady state of a folder that has ingested text of the same kind).
 *
 *   npm run bench:ingest [-- --docs 5000]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig, parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { benchCorpus } from "./corpus.ts";
import { percentile } from "./serve-helpers.ts";
import { llamaIndexInMemory } from "./peers/llamaindex-in-memory.ts";

const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "5000" },
    queries: { type: "string", default: "2000" },
  },
});
const n = Number(values.docs);
const corpus = await benchCorpus(n);
// The defaults, and the environment (SLUICE_MODEL_THREADS, SLUICE_INDEX_WRITE_THREAD, …) to compare settings.
const config = loadConfig();

interface Run {
  seconds: number;
  chunks: number;
}

async function ingest(label: string, sluice: Sluice, collection: string): Promise<Run> {
  const started = performance.now();
  const job = await sluice.submitPaths({ collection, paths: [corpus] });
  const done = await sluice.runJob(job.id);
  const seconds = (performance.now() - started) / 1000;
  const stats = await sluice.stats(collection);
  if (done.failed > 0 || done.done !== n)
    throw new Error(`${label}: ${done.done}/${n} documents indexed, ${done.failed} failed`);
  console.log(
    `${label}: ${n} documents, ${stats.chunks} chunks in ${seconds.toFixed(1)} s → ${(n / seconds).toFixed(0)} docs/s`,
  );
  return { seconds, chunks: stats.chunks };
}

const dir = mkdtempSync(join(tmpdir(), "sluice-bench-"));
try {
  console.log(
    `corpus: ${corpus} (${n} Debian package descriptions), default pipeline (auto.yaml), embedder ${config.embedder.backend}, model threads ${config.models.threads}, index writer thread ${config.ingest.writeThread}, concurrency ${config.ingest.concurrency}`,
  );

  // The default pipeline: a fresh folder (words learnt), then known words.
  const sluice = await Sluice.open({ dataDir: join(dir, "default"), config });
  const fresh = await ingest("default pipeline, fresh data folder (every word new to the teacher)", sluice, "fresh");
  const warm = await ingest("default pipeline, words known (second collection, same folder)", sluice, "warm");

  // The embed stage alone: the same chunks through the same batched embedder, nothing else.
  const texts = (sluice.store as unknown as { db: { prepare(sql: string): { all(): Array<{ text: string }> } } }).db
    .prepare("select text from chunks")
    .all()
    .map((r) => r.text)
    .slice(0, warm.chunks);
  const embedder = sluice.embedder();
  const batch = config.embedder.batchSize;
  let started = performance.now();
  const inFlight: Array<Promise<unknown>> = [];
  for (let i = 0; i < texts.length; i += batch)
    inFlight.push(embedder.embed(texts.slice(i, i + batch), { kind: "passage" }));
  await Promise.all(inFlight);
  const embedSeconds = (performance.now() - started) / 1000;
  console.log(
    `embed stage alone (${embedder.id}): ${texts.length} chunks in ${embedSeconds.toFixed(2)} s → ${(texts.length / embedSeconds).toFixed(0)} chunks/s`,
  );

  // Query embedding: one query at a time, as a search does (titles and first words of the corpus).
  const queries = texts.slice(0, Number(values.queries)).map((t) => t.split(/\s+/).slice(0, 6).join(" "));
  const latencies: number[] = [];
  for (const q of queries) {
    started = performance.now();
    await embedder.embed([q], { kind: "query" });
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  const p50 = percentile(latencies, 50);
  const p95 = percentile(latencies, 95);
  console.log(
    `query embedding (${embedder.id}), ${queries.length} queries: p50 ${p50.toFixed(3)} ms, p95 ${p95.toFixed(3)} ms`,
  );
  await sluice.close();

  // The engine without a model: the same pipeline with the hash embedder shows Sluice's own cost.
  const engineSluice = await Sluice.open({
    dataDir: join(dir, "engine"),
    config: { ...config, embedder: parseConfig({ embedder: { backend: "hash", dimensions: 256 } }).embedder },
  });
  const engine = await ingest("engine only (default pipeline, hash embedder)", engineSluice, "engine");
  await engineSluice.close();

  // The peer, on the same documents: LlamaIndex.TS splitting, no-op embedding, nodes in memory.
  const docs = readFileSync(corpus, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const r = JSON.parse(line) as { _id: string; title?: string; text: string };
      return { id: r._id, title: r.title ?? "", text: r.text };
    });
  const peer = await llamaIndexInMemory(docs);
  console.log(
    `peer, LlamaIndex.TS in memory (no durability, no index, no-op embedding): ${n} documents in ${peer.seconds.toFixed(2)} s → ${(n / peer.seconds).toFixed(0)} docs/s`,
  );
  const ratio = peer.seconds / engine.seconds;
  console.log(`engine only / LlamaIndex.TS in memory: ${ratio.toFixed(2)}×`);
  console.log(
    JSON.stringify({
      docs: n,
      embedder: config.embedder.backend,
      fresh_docs_per_s: Math.round(n / fresh.seconds),
      warm_docs_per_s: Math.round(n / warm.seconds),
      chunks: warm.chunks,
      embed_chunks_per_s: Math.round(texts.length / embedSeconds),
      query_embed_p50_ms: Number(p50.toFixed(3)),
      query_embed_p95_ms: Number(p95.toFixed(3)),
      engine_docs_per_s: Math.round(n / engine.seconds),
      peer_llamaindex_in_memory_docs_per_s: Math.round(n / peer.seconds),
      engine_vs_peer: Number(ratio.toFixed(3)),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
