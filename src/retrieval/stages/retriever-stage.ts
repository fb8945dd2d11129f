import { z } from "zod";
import type { RetrievalConfig } from "../../config/schema.ts";
import type { Query, RankedRows } from "../../contracts/query.ts";

export type RetrieverKind = "lexical" | "dense" | "sparse";

/** The config of a retriever stage: its part in hybrid fusion. */
export const RetrieverStageConfigSchema = z
  .object({
    /** Its weight in hybrid fusion (default `retrieval.weights.<kind>`; 0 sits hybrid queries out). */
    weight: z.number().min(0).optional(),
    /** How many rows it hands hybrid fusion (default `retrieval.candidates`). */
    candidates: z.int().min(1).max(1000).optional(),
  })
  .strict();
export type RetrieverStageConfig = z.infer<typeof RetrieverStageConfigSchema>;

/**
 * Whether a retriever takes part in a query, with its weight and how many rows it ranks: all
 * of `depth` when the query's mode is its own, its candidates in a hybrid query when its weight
 * is above 0, null otherwise (it sits the query out).
 */
export function retrieverPlan(
  kind: RetrieverKind,
  query: Query,
  config: RetrieverStageConfig,
  retrieval: RetrievalConfig,
): { weight: number; n: number } | null {
  const weight = config.weight ?? retrieval.weights[kind];
  if (query.mode === kind) return { weight, n: query.depth };
  if (query.mode !== "hybrid" || weight === 0) return null;
  return { weight, n: Math.max(query.depth, config.candidates ?? retrieval.candidates) };
}

/** A retriever's empty ranking with weight 0: it took no part in this query. */
export function satOut(kind: RetrieverKind): { rows: RankedRows } {
  return { rows: { retriever: kind, weight: 0, rows: [] } };
}
