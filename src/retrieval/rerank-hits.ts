import type { ModelCallOptions, Reranker } from "../models/ports.ts";
import type { RetrievedChunk } from "./retriever.ts";

/**
 * The best `k` of the retrieved chunks by the reranker's score (which replaces the retrieval
 * score); equal scores keep retrieval order.
 *
 * @example
 * const top = await rerankHits(reranker, "resume a job", candidates, 10);
 */
export async function rerankHits(
  reranker: Reranker,
  query: string,
  hits: readonly RetrievedChunk[],
  k: number,
  options: ModelCallOptions = {},
): Promise<RetrievedChunk[]> {
  if (hits.length === 0) return [];
  await reranker.warmUp();
  const scores = await reranker.rerank(
    query,
    hits.map((h) => h.chunk.text),
    options,
  );
  return hits
    .map((hit, i) => ({
      hit: { ...hit, score: scores[i]!, ...(hit.scores ? { scores: { ...hit.scores, rerank: scores[i]! } } : {}) },
      i,
    }))
    .sort((a, b) => b.hit.score - a.hit.score || a.i - b.i)
    .slice(0, k)
    .map(({ hit }) => hit);
}
