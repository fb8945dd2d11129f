import { defineStage } from "../../pipeline/define-stage.ts";
import { ModelParamsSchema, pickModelParams } from "../../models/model-params.ts";
import { modelCallOptions } from "./model-call-options.ts";

/**
 * Embeds every chunk with the configured dense model (`embedder` in sluice.yaml). In-process,
 * calls from documents in flight are coalesced by the shared micro-batcher; remote, the model
 * server batches them. The config holds the model runtime parameters of this stage (device
 * preference, batch size, keep-alive), which travel with every call: they are part of the job's
 * pipeline snapshot, not of the server.
 *
 * @example
 * nodes: [{ name: embed, type: embed.dense, policy: model, config: { device: gpu-preferred, batchSize: 32 } }]
 */
export const denseEmbed = defineStage({
  type: "embed.dense",
  description: "Dense vectors for each chunk from the configured embedder",
  inputs: { chunks: "Chunks" },
  outputs: { vectors: "DenseVectors" },
  configSchema: ModelParamsSchema.pick({ device: true, batchSize: true, keepAliveMs: true }),
  create: (config, services) => {
    const params = pickModelParams(config);
    return {
      warmUp: () => services.embedder().warmUp(),
      execute: async ({ chunks }, ctx) => {
        const embedder = services.embedder();
        const vectors =
          chunks.length === 0
            ? []
            : await embedder.embed(
                chunks.map((c) => c.text),
                { ...modelCallOptions(ctx, params), kind: "passage" },
              );
        return { vectors: { model: embedder.id, dimensions: embedder.dimensions, vectors } };
      },
    };
  },
});
