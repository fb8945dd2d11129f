import { z } from "zod";
import type { ParsedDocument } from "../../contracts/index.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { ModelParamsSchema } from "../../models/model-params.ts";
import type { ModelParams } from "../../models/ports.ts";
import { defineStage } from "../../pipeline/define-stage.ts";
import { contentHash } from "../../text/content-hash.ts";
import { detectLanguage } from "../../text/detect-script.ts";
import { assessTextLayer } from "../../text/text-layer-quality.ts";
import { modelCallOptions } from "../embed/model-call-options.ts";
import { parseBytes } from "./formats/index.ts";
import { ocrPdfPages } from "./ocr-pdf-pages.ts";

/**
 * `parse.auto`'s config. `ocr` is part of the job's pipeline snapshot: the languages a job's pages
 * are read in are pinned with the job, not taken from whoever submits it.
 */
const ParseAutoConfigSchema = z
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
        let { text, pages, title } = parsed;
        if (config.ocr.enabled && parsed.mediaType === "application/pdf" && pages) {
          const layerTitle = title;
          pages = await ocrPdfPages(raw.bytes, pages, services.ocr(), modelCallOptions(ctx, params));
          text = pages.map((p) => p.text).join("\n\n");
          const source = raw.ref.source || raw.ref.id;
          if (text.trim() === "")
            throw new SluiceError(
              "DOCUMENT_EMPTY",
              `${source}: PDF has ${pages.length} page${pages.length === 1 ? "" : "s"} but neither a text layer nor text OCR could read`,
              { details: { source, pages: pages.length, ocr: true } },
            );
          // A title taken from a broken text layer is as broken as the page it came from.
          if (pages.some((p) => p.method === "ocr") && assessTextLayer(layerTitle).verdict === "broken")
            title = firstLine(text);
        }
        title = raw.ref.title?.trim() || title;
        const document: ParsedDocument = {
          id: raw.ref.id,
          source: raw.ref.source,
          title,
          text,
          mediaType: parsed.mediaType,
          contentHash: contentHash(title, text),
          language: detectLanguage(text),
          ...(pages ? { pages } : {}),
          meta: raw.ref.meta,
        };
        return { document };
      },
    };
  },
});
