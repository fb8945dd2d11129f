import { z } from "zod";
import type { Page, ParsedDocument, RawDocument } from "../../contracts/index.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { ModelParamsSchema } from "../../models/model-params.ts";
import type { ModelParams } from "../../models/ports.ts";
import { defineStage } from "../../pipeline/define-stage.ts";
import { contentHash } from "../../text/content-hash.ts";
import { detectLanguage } from "../../text/detect-script.ts";
import { assessTextLayer } from "../../text/text-layer-quality.ts";
import { modelCallOptions } from "../embed/model-call-options.ts";
import { parseBytes, type ParsedBytes } from "./formats/index.ts";
import { ocrPdfPages } from "./ocr-pdf-pages.ts";

/**
 * `parse.auto`'s config. `ocr` is part of the job's pipeline snapshot: the languages a job's pages
 * are read in are pinned with the job, not taken from whoever submits it.
 */
export const ParseAutoConfigSchema = z
  .object({
    ocr: z
      .object({
        /** OCR PDF pages with no text layer or a broken one. Default true. */
        enabled: z.boolean().default(true),
        /** Tesseract codes joined by `+`; default `ocr.languages` of sluice.yaml (`eng+tha`). */
        languages: ModelParamsSchema.shape.languages,
        /** Words below this confidence (0-100) are left out. */
        minConfidence: ModelParamsSchema.shape.minConfidence,
      })
      .strict()
      .prefault({}),
  })
  .strict();

function firstLine(text: string): string {
  const line = (text.split("\n").find((l) => l.trim() !== "") ?? "").trim();
  return line.length > 120 ? `${line.slice(0, 117).trimEnd()}...` : line;
}

/**
 * The ParsedDocument of parsed bytes whose PDF pages OCR may have replaced: the text is the pages'
 * text, a PDF neither the text layer nor OCR could read is `DOCUMENT_EMPTY`, and a title taken
 * from a broken text layer gives way to the first OCR'd line. A ref's own title wins.
 *
 * @example
 * const document = toParsedDocument(raw, parsed, await ocrPdfPages(raw.bytes, parsed.pages!, ocr, call));
 */
export function toParsedDocument(raw: RawDocument, parsed: ParsedBytes, pages?: Page[]): ParsedDocument {
  let { text, title } = parsed;
  if (pages) {
    text = pages.map((p) => p.text).join("\n\n");
    const source = raw.ref.source || raw.ref.id;
    if (text.trim() === "")
      throw new SluiceError(
        "DOCUMENT_EMPTY",
        `${source}: PDF has ${pages.length} page${pages.length === 1 ? "" : "s"} but neither a text layer nor text OCR could read`,
        { details: { source, pages: pages.length, ocr: true } },
      );
    // A title taken from a broken text layer is as broken as the page it came from.
    if (pages.some((p) => p.method === "ocr") && assessTextLayer(title).verdict === "broken") title = firstLine(text);
  }
  title = raw.ref.title?.trim() || title;
  const finalPages = pages ?? parsed.pages;
  return {
    id: raw.ref.id,
    source: raw.ref.source,
    title,
    text,
    mediaType: parsed.mediaType,
    contentHash: contentHash(title, text),
    language: detectLanguage(text),
    ...(finalPages ? { pages: finalPages } : {}),
    meta: raw.ref.meta,
  };
}

/**
 * Parses bytes into the document IR by media type: plain text, Markdown, HTML, or a PDF page by
 * page. A PDF page with no text layer, or a broken one (see `assessTextLayer`), is rendered and
 * read by OCR through the model plane, in the languages of this node's config; such pages carry
 * `method: "ocr"` and their confidence. Inline documents keep the title they came with.
 *
 * @example
 * nodes: [{ name: parse, type: parse.auto, checkpoint: true, config: { ocr: { languages: tha+eng } } }]
 */
export const bytesToDocument = defineStage({
  type: "parse.auto",
  description:
    "Parses text, Markdown, HTML and PDF (text layer, OCR for scanned or broken pages) into a ParsedDocument",
  inputs: { document: "RawDocument" },
  outputs: { document: "ParsedDocument" },
  configSchema: ParseAutoConfigSchema,
  create: (config, services) => {
    const params: ModelParams = {
      languages: config.ocr.languages ?? services.config.ocr.languages,
      ...(config.ocr.minConfidence !== undefined ? { minConfidence: config.ocr.minConfidence } : {}),
    };
    return {
      execute: async ({ document: raw }, ctx) => {
        const parsed = await parseBytes(raw, { allowEmptyPdfText: config.ocr.enabled });
        const ocrPages =
          config.ocr.enabled && parsed.mediaType === "application/pdf" && parsed.pages
            ? await ocrPdfPages(raw.bytes, parsed.pages, services.ocr(), modelCallOptions(ctx, params))
            : undefined;
        const document = toParsedDocument(raw, parsed, ocrPages);
        return { document };
      },
    };
  },
});
