import { z } from "zod";
import type { ParsedDocument } from "../../contracts/index.ts";
import { defineStage } from "../../pipeline/define-stage.ts";
import { contentHash } from "../../text/content-hash.ts";
import { detectLanguage } from "../../text/detect-script.ts";
import { parseBytes } from "./formats/index.ts";

/**
 * Parses bytes into the document IR by media type: plain text, Markdown, HTML, or a PDF's text
 * layer (page by page). Inline documents keep the title they came with.
 *
 * @example
 * nodes: [{ name: parse, type: parse.auto, checkpoint: true }]
 */
export const bytesToDocument = defineStage({
  type: "parse.auto",
  description: "Parses text, Markdown, HTML and PDF (text layer) into a ParsedDocument",
  inputs: { document: "RawDocument" },
  outputs: { document: "ParsedDocument" },
  configSchema: z.object({}).strict(),
  create: () => ({
    execute: async ({ document: raw }) => {
      const parsed = await parseBytes(raw);
      const title = raw.ref.title?.trim() || parsed.title;
      const document: ParsedDocument = {
        id: raw.ref.id,
        source: raw.ref.source,
        title,
        text: parsed.text,
        mediaType: parsed.mediaType,
        contentHash: contentHash(title, parsed.text),
        language: detectLanguage(parsed.text),
        ...(parsed.pages ? { pages: parsed.pages } : {}),
        meta: raw.ref.meta,
      };
      return { document };
    },
  }),
});
