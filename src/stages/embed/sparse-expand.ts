import { defineStage } from "../../pipeline/define-stage.ts";
import { ModelParamsSchema, pickModelParams } from "../../models/model-params.ts";
import { modelCallOptions } from "./model-call-options.ts";

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
  configSchema: ModelParamsSchema.pick({ device: true, batchSize: true, keepAliveMs: true }),
  create: (config, services) => {
    const params = pickModelParams(config);
    return {
      warmUp: () => services.sparseEncoder().warmUp(),
      execute: async ({ chunks }, ctx) => {
        const encoder = services.sparseEncoder();
        const vectors = await encoder.encode(
          chunks.map((c) => c.text),
          { ...modelCallOptions(ctx, params), kind: "passage" },
        );
        return { vectors: { model: encoder.id, vectors } };
      },
    };
  },
});
