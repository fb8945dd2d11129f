import { z } from "zod";
import { defineStage } from "../../pipeline/define-stage.ts";
import { analyze } from "../../text/analyzer.ts";

/**
 * Writes a document and its chunks to every index (lexical, dense, sparse) in one
 * transaction. Idempotent by content hash; a changed document replaces its old chunks.
 *
 * @example
 * nodes: [{ name: index, type: index.write, policy: io }]
 */
export const indexWrite = defineStage({
  type: "index.write",
  description: "Writes the document, its chunks, dense and sparse vectors to the index in one transaction",
  inputs: { document: "ParsedDocument", chunks: "Chunks", dense: "DenseVectors?", sparse: "SparseVectors?" },
  outputs: { result: "IndexResult" },
  configSchema: z.object({}).strict(),
  create: (_config, services) => ({
    execute: async ({ document, chunks, dense, sparse }, ctx) => {
      const lexical = chunks.map((c) => analyze(c.text));
      const result = await services.store().writeDocument(ctx.collection, {
        document,
        chunks,
        lexical,
        ...(dense ? { dense } : {}),
        ...(sparse ? { sparse } : {}),
      });
      return { result };
    },
  }),
});
