import { z } from "zod";
import { defineStage } from "../../pipeline/define-stage.ts";

/**
 * Sparse term weights for each chunk from the configured sparse encoder (by default the
 * analyzer's BM25-style term weights; a SPLADE model plugs in behind the same port).
 *
 * @example
 * nodes: [{ name: sparse, type: embed.sparse }]
 */
export const sparseExpand = defineStage({
  type: "embed.sparse",
  description: "Sparse term weights for each chunk",
  inputs: { chunks: "Chunks" },
  outputs: { vectors: "SparseVectors" },
  configSchema: z.object({}).strict(),
  create: (_config, services) => ({
    warmUp: () => services.sparseEncoder().warmUp(),
    execute: async ({ chunks }, ctx) => {
      const encoder = services.sparseEncoder();
      const vectors = await encoder.encode(chunks.map((c) => c.text), { signal: ctx.signal, kind: "passage" });
      return { vectors: { model: encoder.id, vectors } };
    },
  }),
});
