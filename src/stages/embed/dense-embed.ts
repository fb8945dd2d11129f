import { z } from "zod";
import { defineStage } from "../../pipeline/define-stage.ts";

/**
 * Embeds every chunk with the configured dense model (`embedder` in sluice.yaml). Calls from
 * documents in flight are coalesced into batches by the shared micro-batcher.
 *
 * @example
 * nodes: [{ name: embed, type: embed.dense, policy: model }]
 */
export const denseEmbed = defineStage({
  type: "embed.dense",
  description: "Dense vectors for each chunk from the configured embedder",
  inputs: { chunks: "Chunks" },
  outputs: { vectors: "DenseVectors" },
  configSchema: z.object({}).strict(),
  create: (_config, services) => ({
    warmUp: () => services.embedder().warmUp(),
    execute: async ({ chunks }, ctx) => {
      const embedder = services.embedder();
      const vectors = chunks.length === 0 ? [] : await embedder.embed(chunks.map((c) => c.text), { signal: ctx.signal, kind: "passage" });
      return { vectors: { model: embedder.id, dimensions: embedder.dimensions, vectors } };
    },
  }),
});
