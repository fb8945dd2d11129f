import { z } from "zod";
import { defineStage } from "../../pipeline/define-stage.ts";
import { rerankHits } from "../rerank-hits.ts";

/**
 * `query.rerank`: when the query asks for it (`rerank`, default `retrieval.rerank.enabled`), the
 * configured reranker scores the candidates and the best `k` come back in its order, its scores
 * replacing retrieval's; otherwise the best `k` pass through as they are.
 */
export const queryRerank = defineStage({
  type: "query.rerank",
  description: "Reorders the candidates by the reranker's scores (when the query asks for it)",
  inputs: { query: "Query", results: "RankedChunks" },
  outputs: { results: "RankedChunks" },
  configSchema: z.object({}).strict(),
  create: (_config, services) => ({
    async execute({ query, results }, ctx) {
      if (!query.rerank || results.hits.length === 0)
        return { results: { ...results, hits: results.hits.slice(0, query.k) } };
      const reranker = services.reranker();
      const hits = await rerankHits(reranker, query.text, results.hits, query.k, {
        signal: ctx.signal,
        ...(ctx.deadline !== undefined ? { deadline: ctx.deadline } : {}),
      });
      return { results: { hits, rerankedBy: reranker.id } };
    },
  }),
});
