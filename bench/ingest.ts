/**
 * Ingest throughput of the default pipeline on a real corpus, and of the dense embed stage
 * alone, so the bottleneck is visible. Prints readable lines, then one JSON object.
 *
 *   npm run bench:ingest [-- --docs 5000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { MicroBatcher } from "../src/models/batcher.ts";
import { createEmbedder } from "../src/models/create-embedder.ts";
import { benchCorpus } from "./corpus.ts";

const { values } = parseArgs({
  options: { docs: { type: "string", default: "5000" }, "skip-engine": { type: "boolean", default: false } },
});
const n = Number(values.docs);
const corpus = await benchCorpus(n);
const config = parseConfig({});

async function ingest(label: string, sluice: Sluice): Promise<{ seconds: number; docs: number; chunks: number }> {
  const started = performance.now();
  const job = await sluice.submitPaths({ collection: "bench", paths: [corpus] });
  const done = await sluice.runJob(job.id);
  const seconds = (performance.now() - started) / 1000;
  const stats = await sluice.stats("bench");
  if (done.failed > 0 || done.done !== n)
    throw new Error(`${label}: ${done.done}/${n} documents indexed, ${done.failed} failed`);
  console.log(
    `${label}: ${n} documents, ${stats.chunks} chunks in ${seconds.toFixed(1)} s → ${(n / seconds).toFixed(1)} docs/s, ${(stats.chunks / seconds).toFixed(1)} chunks/s`,
  );
  return { seconds, docs: n, chunks: stats.chunks };
}

const dir = mkdtempSync(join(tmpdir(), "sluice-bench-"));
try {
  console.log(
    `corpus: ${corpus} (${n} Debian package descriptions), default pipeline (auto.yaml), embedder ${config.embedder.backend}, concurrency ${config.ingest.concurrency}`,
  );
  const sluice = await Sluice.open({ dataDir: join(dir, "default"), config });
  const full = await ingest("pipeline (default)", sluice);
  const texts = (sluice.store as unknown as { db: { prepare(sql: string): { all(): Array<{ text: string }> } } }).db
    .prepare("select text from chunks")
    .all()
    .map((r) => r.text);
  await sluice.close();

  // The embed stage alone: the same chunks through the same batched embedder, nothing else (on the
  // same data folder, so a static embedder's words, learnt by the run above, are known).
  const embedder = new MicroBatcher(createEmbedder(config.embedder, { dataDir: join(dir, "default") }), {
    maxBatch: config.embedder.batchSize,
  });
  await embedder.warmUp();
  const started = performance.now();
  const batch = config.embedder.batchSize;
  const inFlight: Array<Promise<unknown>> = [];
  for (let i = 0; i < texts.length; i += batch)
    inFlight.push(embedder.embed(texts.slice(i, i + batch), { kind: "passage" }));
  await Promise.all(inFlight);
  const embedSeconds = (performance.now() - started) / 1000;
  await embedder.close();
  console.log(
    `embed stage alone (${embedder.id}): ${texts.length} chunks in ${embedSeconds.toFixed(1)} s → ${(texts.length / embedSeconds).toFixed(1)} chunks/s`,
  );

  // The engine without a model: the same pipeline with the hash embedder shows Sluice's own cost.
  let engine: { seconds: number; chunks: number } | null = null;
  if (!values["skip-engine"]) {
    const fast = await Sluice.open({
      dataDir: join(dir, "engine"),
      config: parseConfig({ embedder: { backend: "hash", dimensions: 256 } }),
    });
    engine = await ingest("pipeline (hash embedder: engine cost only)", fast);
    await fast.close();
  }
  const embedShare = Math.min(1, embedSeconds / full.seconds);
  console.log(
    `bottleneck: the embed stage accounts for about ${(embedShare * 100).toFixed(0)}% of the default pipeline's time`,
  );
  console.log(
    JSON.stringify({
      docs: n,
      chunks: full.chunks,
      seconds: Number(full.seconds.toFixed(2)),
      docs_per_s: Number((n / full.seconds).toFixed(2)),
      chunks_per_s: Number((full.chunks / full.seconds).toFixed(2)),
      embed_chunks_per_s: Number((texts.length / embedSeconds).toFixed(2)),
      embedder: config.embedder.backend,
      engine_docs_per_s: engine ? Number((n / engine.seconds).toFixed(2)) : null,
      engine_chunks_per_s: engine ? Number((engine.chunks / engine.seconds).toFixed(2)) : null,
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
