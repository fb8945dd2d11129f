import { z } from "zod";
import type { RetrievalConfig } from "../../config/schema.ts";
import type { Query, RankedRows } from "../../contracts/query.ts";
import { defineStage } from "../../pipeline/define-stage.ts";
import type { ScoredRow } from "../../store/index-store.ts";
import { Retriever } from "../retriever.ts";

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
  const weight = query.weights?.[kind] ?? config.weight ?? retrieval.weights[kind];
  if (query.mode === kind) return { weight, n: query.depth };
  if (query.mode !== "hybrid" || weight === 0) return null;
  return { weight, n: Math.max(query.depth, config.candidates ?? retrieval.candidates) };
}

/** A retriever's empty ranking with weight 0: it took no part in this query. */
export function satOut(kind: RetrieverKind): { rows: RankedRows } {
  return { rows: { retriever: kind, weight: 0, rows: [] } };
}

/**
 * A retriever stage over the query's terms (no model): `Query` in, its `RankedRows` out, taking
 * part as {@link retrieverPlan} says.
 *
 * @example
 * export const queryLexical = termRetrieverStage("lexical", "Ranks chunks by BM25", (retriever, q, n) =>
 *   retriever.lexical(q.collection, q.text, n, q.filter),
 * );
 */
export function termRetrieverStage(
  kind: "lexical" | "sparse",
  description: string,
  search: (retriever: Retriever, query: Query, n: number) => Promise<ScoredRow[]>,
) {
  return defineStage({
    type: `query.${kind}`,
    description,
    inputs: { query: "Query" },
    outputs: { rows: "RankedRows" },
    configSchema: RetrieverStageConfigSchema,
    create: (config, services) => ({
      async execute({ query }) {
        const plan = retrieverPlan(kind, query, config, services.config.retrieval);
        if (!plan) return satOut(kind);
        const retriever = new Retriever(services.store(), () => services.embedder(), services.config.retrieval);
        return { rows: { retriever: kind, weight: plan.weight, rows: await search(retriever, query, plan.n) } };
      },
    }),
  });
}
