import { z } from "zod";
import { SluiceError } from "../../contracts/errors.ts";
import type { RankedRows } from "../../contracts/query.ts";
import { defineStage } from "../../pipeline/define-stage.ts";
import { fuseLists, hydrate } from "../retriever.ts";

const FuseConfigSchema = z
  .object({
    /** `rrf` or `convex` (default `retrieval.fusion`). */
    method: z.enum(["rrf", "convex"]).optional(),
    /** The RRF constant (default `retrieval.rrfK`). */
    rrfK: z.number().positive().optional(),
  })
  .strict();

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
      return { results: { hits: await hydrate(services.store(), query.collection, rows) } };
    },
  }),
});
