import { z } from "zod";
import { defineStage } from "../../pipeline/define-stage.ts";
import { readDocument } from "./read-document.ts";

/**
 * Reads a document's bytes: a file from disk (size-checked before reading) or an inline text.
 *
 * @example
 * nodes: [{ name: load, type: source.load, policy: io }]
 */
export const loadDocument = defineStage({
  type: "source.load",
  description: "Reads a document reference (file or inline text) into bytes, checking size limits first",
  inputs: { ref: "DocumentRef" },
  outputs: { document: "RawDocument" },
  configSchema: z.object({ maxDocumentBytes: z.number().int().positive().optional() }).strict(),
  create: (config, services) => ({
    execute: async ({ ref }, ctx) => ({
      document: await readDocument(ref, {
        maxDocumentBytes: config.maxDocumentBytes ?? services.config.ingest.maxDocumentBytes,
        signal: ctx.signal,
      }),
    }),
  }),
});
