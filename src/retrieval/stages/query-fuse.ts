import { z } from "zod";
import { SluiceError } from "../../contracts/errors.ts";
import type { RankedRows } from "../../contracts/query.ts";
import { defineStage } from "../../pipeline/define-stage.ts";
import { fuseLists, hydrate, type RetrievedChunk } from "../retriever.ts";

const FuseConfigSchema = z
  .object({
    /** `rrf` or `convex` (default `retrieval.fusion`). */
    method: z.enum(["rrf", "convex"]).optional(),
    /** The RRF constant (default `retrieval.rrfK`). */
    rrfK: z.number().positive().optional(),
  })
  .strict();

/**
 * Each hit with its score in every list that took part (weight above 0) and holds it, and the
 * fused score when the lists were fused: how a hit got where it is.
 */
function explain(hits: RetrievedChunk[], lists: RankedRows[], fused: boolean): RetrievedChunk[] {
  const byList = lists
    .filter((l) => l.weight > 0 || !fused)
    .map((l) => ({ name: l.retriever, scores: new Map(l.rows.map((r) => [r.rowid, r.score])) }));
  return hits.map((hit) => {
    const scores: Record<string, number> = {};
    for (const list of byList) {
      const score = list.scores.get(hit.rowid);
      if (score !== undefined) scores[list.name] = score;
    }
    if (fused) scores["fused"] = hit.score;
    return { ...hit, scores };
  });
}

/**
 * `query.fuse`: a hybrid query's rankings fused into one (RRF or a convex combination, each list
 * by its weight), or, in a single mode, that retriever's ranking as it is; the best `depth` rows
 * come back with their chunks.
 */
export const queryFuse = defineStage({
  type: "query.fuse",
  description: "Fuses the retrievers' rankings (RRF or convex) and reads the chunks of the best",
  inputs: { query: "Query", lexical: "RankedRows?", dense: "RankedRows?", sparse: "RankedRows?" },
  outputs: { results: "RankedChunks" },
  configSchema: FuseConfigSchema,
  create: (config, services) => ({
    async execute({ query, ...ranked }) {
      const lists = [ranked.lexical, ranked.dense, ranked.sparse].filter((l): l is RankedRows => l !== undefined);
      let rows;
      if (query.mode === "hybrid") {
        const retrieval = services.config.retrieval;
        const fusion = { fusion: config.method ?? retrieval.fusion, rrfK: config.rrfK ?? retrieval.rrfK };
        rows = fuseLists(
          lists.map((l) => ({ name: l.retriever, weight: l.weight, rows: l.rows })),
          fusion,
          query.depth,
        );
      } else {
        const own = lists.find((l) => l.retriever === query.mode);
        if (!own)
          throw new SluiceError(
            "VALIDATION_FAILED",
            `mode "${query.mode}": this query pipeline has no ${query.mode} retriever (query.${query.mode}) feeding query.fuse`,
            { details: { mode: query.mode } },
          );
        rows = own.rows.slice(0, query.depth);
      }
      const hits = await hydrate(services.store(), query.collection, rows);
      return { results: { hits: query.explain ? explain(hits, lists, query.mode === "hybrid") : hits } };
    },
  }),
});
