import { z } from "zod";
import { defineStage } from "../../pipeline/define-stage.ts";
import { SkipDocument } from "../../pipeline/control.ts";

/**
 * Stops a document's run early when the index already holds the same content hash, so an
 * unchanged document costs a parse and one lookup, not an embedding.
 *
 * @example
 * connections: [{ sender: parse.document, receiver: dedupe.document }]
 */
export const skipUnchanged = defineStage({
  type: "index.skip-unchanged",
  description: "Ends the run (outcome: unchanged) when the document's content hash is already indexed",
  inputs: { document: "ParsedDocument" },
  outputs: { document: "ParsedDocument" },
  configSchema: z.object({}).strict(),
  create: (_config, services) => ({
    execute: async ({ document }, ctx) => {
      const stored = await services.store().documentHash(ctx.collection, document.id);
      if (stored === document.contentHash) throw new SkipDocument("unchanged");
      return { document };
    },
  }),
});
