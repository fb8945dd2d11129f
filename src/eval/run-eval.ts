import { createHash } from "node:crypto";
import { basename, resolve } from "node:path";
import type { Sluice } from "../engine/sluice.ts";
import type { RetrievalMode } from "../retrieval/retriever.ts";
import { loadBeir } from "./beir.ts";
import { mrrAt, ndcgAt, recallAt } from "./metrics.ts";

export interface EvalResult {
  mode: RetrievalMode;
  queries: number;
  "ndcg@10": number;
  "recall@10": number;
  "mrr@10": number;
}

/** The scratch collection an eval set is ingested into: stable per folder, so reruns reuse it. */
export function evalCollection(dir: string): string {
  const abs = resolve(dir);
  const name =
    basename(abs)
      .replace(/[^A-Za-z0-9_.-]/g, "-")
      .slice(0, 40) || "set";
  return `eval-${name}-${createHash("sha256").update(abs).digest("hex").slice(0, 8)}`;
}

/**
 * Ingests a BEIR set's corpus into a scratch collection (unchanged documents are skipped on
 * reruns) and scores each mode: documents are ranked by their best chunk, queries without a
 * positive judgment are skipped.
 *
 * @example
 * const [hybrid] = await runEval(sluice, "../shared/data/faq-en", ["hybrid"]);
 */
export async function runEval(
  sluice: Sluice,
  dir: string,
  modes: RetrievalMode[],
  options: {
    pipeline?: string;
    onIngested?: (seconds: number, documents: number) => void;
    onDocument?: () => void;
  } = {},
): Promise<EvalResult[]> {
  const set = await loadBeir(dir);
  const collection = evalCollection(dir);
  const started = performance.now();
  const job = await sluice.submitPaths({
    collection,
    paths: [set.corpus],
    ...(options.pipeline ? { pipeline: options.pipeline } : {}),
  });
  const done = await sluice.runJob(job.id, options.onDocument ? { onDocument: options.onDocument } : {});
  options.onIngested?.((performance.now() - started) / 1000, done.done);

  const results: EvalResult[] = [];
  for (const mode of modes) {
    let n = 0;
    let ndcg = 0;
    let recall = 0;
    let mrr = 0;
    for (const [qid, text] of set.queries) {
      const judged = set.qrels.get(qid);
      if (!judged || ![...judged.values()].some((g) => g > 0)) continue;
      // Ask for more chunks than documents: several chunks of one document collapse into one.
      const hits = await sluice.retriever().retrieve(collection, text, { mode, k: 50 });
      const ranking: string[] = [];
      for (const h of hits) if (!ranking.includes(h.chunk.docId)) ranking.push(h.chunk.docId);
      n++;
      ndcg += ndcgAt(ranking, judged, 10);
      recall += recallAt(ranking, judged, 10);
      mrr += mrrAt(ranking, judged, 10);
    }
    const round = (x: number) => Number((n ? x / n : 0).toFixed(4));
    results.push({ mode, queries: n, "ndcg@10": round(ndcg), "recall@10": round(recall), "mrr@10": round(mrr) });
  }
  return results;
}
