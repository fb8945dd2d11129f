import { z } from "zod";
import { MetaFilterSchema } from "./meta-filter.ts";

/** The retrieval modes a query can ask for. */
export const RETRIEVAL_MODES = ["hybrid", "lexical", "dense", "sparse"] as const;
export type RetrievalMode = (typeof RETRIEVAL_MODES)[number];

/**
 * The query's embedding, made where the model lives (the main thread) and carried to a reader
 * thread with the query, so a reader loads no model.
 */
export const QueryEmbeddingSchema = z.object({
  /** The embedder's id: it must be the collection's. */
  model: z.string().min(1),
  /** The languages the model was trained on, when it says (a query in another skips dense). */
  languages: z.array(z.string()).optional(),
  vector: z.custom<Float32Array>((v) => v instanceof Float32Array, "expected a Float32Array"),
});
export type QueryEmbedding = z.infer<typeof QueryEmbeddingSchema>;

/**
 * What a query pipeline runs on: one query over one collection. `k` results are wanted; the
 * retrievers and fusion keep `depth` candidates (more than `k` when a reranker picks among them).
 */
export const QuerySchema = z.object({
  collection: z.string().min(1),
  text: z.string().min(1),
  mode: z.enum(RETRIEVAL_MODES),
  k: z.int().min(1),
  depth: z.int().min(1),
  filter: MetaFilterSchema.optional(),
  /** Write an answer (the first page of an answered query). */
  answer: z.boolean(),
  /** Rerank the candidates (a query's `rerank`, or `retrieval.rerank.enabled`). */
  rerank: z.boolean(),
  embedding: QueryEmbeddingSchema.optional(),
  /** This query's weights in hybrid fusion, by retriever kind (over a stage's `weight` and `retrieval.weights`). */
  weights: z
    .object({ lexical: z.number().min(0), dense: z.number().min(0), sparse: z.number().min(0) })
    .partial()
    .optional(),
  /** Give each hit its score in every list it came from (`scores`): what the console shows. */
  explain: z.boolean().optional(),
});
export type Query = z.infer<typeof QuerySchema>;

const ScoredRowSchema = z.object({ rowid: z.int(), score: z.number() });

/** One retriever's ranking: rowids by score, with its weight in fusion (0: it sat this query out). */
export const RankedRowsSchema = z.object({
  retriever: z.string().min(1),
  weight: z.number().min(0),
  rows: z.array(ScoredRowSchema),
});
export type RankedRows = z.infer<typeof RankedRowsSchema>;

const StoredChunkSchema = z.object({
  rowid: z.int(),
  chunkId: z.string(),
  docId: z.string(),
  ordinal: z.int(),
  text: z.string(),
  page: z.int().nullable(),
  source: z.string(),
  title: z.string(),
});

/** Chunks in rank order with their scores: the query's results. */
export const RankedChunksSchema = z.object({
  hits: z.array(
    z.object({
      rowid: z.int(),
      score: z.number(),
      chunk: StoredChunkSchema,
      /** With `explain`: the hit's score in each retriever's list it is in, `fused`, and `rerank` when reranked. */
      scores: z.record(z.string(), z.number()).optional(),
    }),
  ),
  /** The reranker whose scores these are, when reranked. */
  rerankedBy: z.string().optional(),
});
export type RankedChunks = z.infer<typeof RankedChunksSchema>;

export const CitationSchema = z.object({
  n: z.int(),
  docId: z.string(),
  chunkId: z.string(),
  source: z.string(),
  title: z.string(),
  page: z.int().nullable(),
  quote: z.string(),
});

/** A written answer with the passages it cites. */
export const AnswerSchema = z.object({
  text: z.string(),
  citations: z.array(CitationSchema),
  method: z.string(),
});
export type AnswerValue = z.infer<typeof AnswerSchema>;

/** One result of a query, as `sluice query --json` and `POST /v1/query` give it. */
export interface QueryResult {
  docId: string;
  chunkId: string;
  score: number;
  text: string;
  source: string;
  title: string;
  page: number | null;
  /** With `explain`: its score in each retriever's list it is in, `fused`, and `rerank` when reranked. */
  scores?: Record<string, number>;
}
