import { basename } from "node:path";
import { z } from "zod";
import type { Chunk, ParsedDocument } from "../../contracts/index.ts";
import { defineStage } from "../../pipeline/define-stage.ts";
import { chunkText } from "../../text/chunk-text.ts";

export const ChunkConfigSchema = z
  .object({
    /** Target size in characters (tuned on the faq-en dev set; see README). */
    size: z.number().int().min(100).max(20_000).default(2000),
    overlap: z.number().int().min(0).default(100),
    /** Prefix each chunk's indexed text with the document title. */
    includeTitle: z.boolean().default(true),
  })
  .strict()
  .refine((c) => c.overlap < c.size, { message: "overlap must be smaller than size", path: ["overlap"] });

/** Page number of a character offset, given the pages were joined with "\n\n". */
function pageLocator(document: ParsedDocument): (offset: number) => number | undefined {
  if (!document.pages?.length) return () => undefined;
  const starts: Array<[number, number]> = [];
  let at = 0;
  for (const page of document.pages) {
    starts.push([at, page.number]);
    at += page.text.length + 2;
  }
  return (offset) => {
    let found = starts[0]![1];
    for (const [start, n] of starts) if (start <= offset) found = n;
    return found;
  };
}

/**
 * Splits a document into sentence-aligned chunks (Intl.Segmenter, so Thai and other unspaced
 * scripts break at words, never inside one), with whole-sentence overlap.
 *
 * @example
 * nodes: [{ name: chunk, type: chunk.sentences, config: { size: 1000, overlap: 100 } }]
 */
export const sentenceChunker = defineStage({
  type: "chunk.sentences",
  description: "Sentence-aware chunking with configurable size and overlap; word-safe for Thai",
  inputs: { document: "ParsedDocument" },
  outputs: { chunks: "Chunks" },
  configSchema: ChunkConfigSchema,
  create: (config) => ({
    execute: async ({ document }) => {
      const locale = document.language && document.language !== "und" ? document.language : "und";
      const pageOf = pageLocator(document);
      // A title that is only the file name, or that the text already opens with, adds nothing.
      const fileStem = basename(document.source).replace(/\.[^.]+$/, "");
      const prefixTitle =
        config.includeTitle &&
        document.title !== "" &&
        document.title !== fileStem &&
        !document.text.trimStart().startsWith(document.title);
      const spans = chunkText(document.text, { size: config.size, overlap: config.overlap, locale });
      const chunks: Chunk[] = spans.map((span, ordinal) => {
        const page = pageOf(span.start);
        const text = ordinal === 0 && prefixTitle ? `${document.title}\n${span.text}` : span.text;
        return {
          id: `${document.id}#${ordinal}`,
          docId: document.id,
          ordinal,
          text,
          start: span.start,
          end: span.end,
          ...(page ? { page } : {}),
        };
      });
      return { chunks };
    },
  }),
});
