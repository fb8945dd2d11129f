/**
 * Retrieval quality and embedding speed of one dense embedder on a BEIR set (default faq-en, the
 * development set): ingests the corpus through the engine into a temporary data folder (or
 * `--data DIR`, kept, so a rerun reuses the static embedder's word cache) and once more into a
 * second collection (every word known by then), then prints nDCG@10 of lexical, dense and hybrid
 * retrieval beside the set's reference BM25 figure, the embedder's warm-up and documents/s, and
 * query-embedding latency. `--sweep` also scores hybrid at lexical
 * weights 0.3…0.9 (dense the rest). Readable lines first, one JSON object last.
 *
 *   npm run bench:retrieval -- --embedder static [--set ../shared/data/faq-en] [--sweep] [--data DIR]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { loadBeir } from "../src/eval/beir.ts";
import { ndcgAt } from "../src/eval/metrics.ts";
import { evalCollection } from "../src/eval/run-eval.ts";
import { Retriever, type RetrievalMode } from "../src/retrieval/retriever.ts";

const DATA = fileURLToPath(new URL("../../shared/data/", import.meta.url));
const { values } = parseArgs({
  options: {
    embedder: { type: "string", default: "static" },
    set: { type: "string", default: join(DATA, "faq-en") },
    data: { type: "string" },
    sweep: { type: "boolean", default: false },
  },
});
const setDir = resolve(values.set);
const backend = values.embedder;
const config = parseConfig({ embedder: { backend } });
const set = await loadBeir(setDir);
const collection = evalCollection(setDir);
const dir = values.data ?? mkdtempSync(join(tmpdir(), "sluice-retrieval-"));

/** The reference BM25 nDCG@10 the data folder's README lists for this set, if any. */
function referenceBm25(): number | null {
  try {
    const readme = readFileSync(join(setDir, "..", "README.md"), "utf8");
    const row = readme.split("\n").find((l) => l.startsWith(`| \`${basename(setDir)}/\``));
    const last = row
      ?.split("|")
      .filter((c) => c.trim())
      .at(-1);
    return last === undefined ? null : Number(last.trim()) || null;
  } catch {
    return null;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function ndcg(retriever: Retriever, mode: RetrievalMode): Promise<number> {
  let n = 0;
  let sum = 0;
  for (const [qid, text] of set.queries) {
    const judged = set.qrels.get(qid);
    if (!judged || ![...judged.values()].some((g) => g > 0)) continue;
    const hits = await retriever.retrieve(collection, text, { mode, k: 50 });
    const ranking: string[] = [];
    for (const h of hits) if (!ranking.includes(h.chunk.docId)) ranking.push(h.chunk.docId);
    n++;
    sum += ndcgAt(ranking, judged, 10);
  }
  return Number((sum / Math.max(1, n)).toFixed(4));
}

try {
  const sluice = await Sluice.open({ dataDir: dir, config });
  const embedder = sluice.models.embedder();
  let started = performance.now();
  await embedder.warmUp();
  const warmUpSeconds = (performance.now() - started) / 1000;
  const embedderId = embedder.id;
  console.log(`${basename(setDir)}: ${embedderId} warmed up in ${warmUpSeconds.toFixed(1)} s`);

  started = performance.now();
  const job = await sluice.submitPaths({ collection, paths: [set.corpus] });
  const done = await sluice.runJob(job.id);
  const ingestSeconds = (performance.now() - started) / 1000;
  console.log(`ingest: ${done.done} documents in ${ingestSeconds.toFixed(1)} s (${done.failed} failed)`);
  // Again into a second collection: the same words, now known (a static embedder's warm cache).
  started = performance.now();
  const again = await sluice.runJob(
    (await sluice.submitPaths({ collection: `${collection}-again`, paths: [set.corpus] })).id,
  );
  const againSeconds = (performance.now() - started) / 1000;
  console.log(
    `ingest again (another collection, words known): ${again.done} documents in ${againSeconds.toFixed(1)} s → ${(again.done / againSeconds).toFixed(0)} documents/s`,
  );

  // Embedding alone, the corpus as the engine sees it (title and text), warm: every word known.
  const docs = readFileSync(set.corpus, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => {
      const d = JSON.parse(l) as { title?: string; text: string };
      return d.title ? `${d.title}\n${d.text}` : d.text;
    });
  started = performance.now();
  for (let i = 0; i < docs.length; i += 64) await embedder.embed(docs.slice(i, i + 64), { kind: "passage" });
  const docsPerSecond = docs.length / ((performance.now() - started) / 1000);
  const times: number[] = [];
  for (const text of set.queries.values()) {
    const t = performance.now();
    await embedder.embed([text], { kind: "query" });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const queryP50 = percentile(times, 50);
  const queryP95 = percentile(times, 95);
  console.log(
    `embedding: ${docsPerSecond.toFixed(0)} documents/s (warm); one query: p50 ${queryP50.toFixed(3)} ms, p95 ${queryP95.toFixed(3)} ms`,
  );

  const retriever = sluice.retriever();
  const scores: Record<string, number> = {};
  for (const mode of ["lexical", "dense", "hybrid"] as const) scores[mode] = await ndcg(retriever, mode);
  const { lexical: lw, dense: dw } = config.retrieval.weights;
  const bm25 = referenceBm25();
  console.log(
    `nDCG@10: lexical ${scores["lexical"]}, dense ${scores["dense"]}, hybrid ${scores["hybrid"]} (${config.retrieval.fusion} ${lw}/${dw}); reference BM25 ${bm25 ?? "n/a"}`,
  );

  const sweep: Record<string, number> = {};
  if (values.sweep) {
    for (const lexical of [0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9]) {
      const weights = { lexical, dense: Number((1 - lexical).toFixed(2)), sparse: 0 };
      const r = new Retriever(sluice.store, () => sluice.embedder(), { ...config.retrieval, weights });
      sweep[`${weights.lexical}/${weights.dense}`] = await ndcg(r, "hybrid");
    }
    console.log(`hybrid sweep (lexical/dense → nDCG@10): ${JSON.stringify(sweep)}`);
  }
  await sluice.close();
  console.log(
    JSON.stringify({
      set: basename(setDir),
      embedder: embedderId,
      backend,
      "ndcg@10": scores,
      fusion: { method: config.retrieval.fusion, lexical: lw, dense: dw },
      referenceBm25: bm25,
      warmUpSeconds: Number(warmUpSeconds.toFixed(2)),
      ingest: { documents: done.done, seconds: Number(ingestSeconds.toFixed(2)) },
      ingestAgain: { documents: again.done, seconds: Number(againSeconds.toFixed(2)) },
      embedDocumentsPerSecond: Math.round(docsPerSecond),
      queryEmbedMs: { p50: Number(queryP50.toFixed(3)), p95: Number(queryP95.toFixed(3)) },
      ...(values.sweep ? { sweep } : {}),
    }),
  );
} finally {
  if (values.data === undefined) rmSync(dir, { recursive: true, force: true });
}
