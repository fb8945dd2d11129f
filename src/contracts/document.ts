import { z } from "zod";

/**
 * Where a document comes from, before anything reads it. Inline refs carry their text; url refs an http(s)
 * address that `source.download` fetches (`source.load` refuses them).
 */
export const DocumentRefSchema = z.object({
  /** Stable document id within the collection (file path relative to the ingest root, or the BEIR `_id`). */
  id: z.string().min(1).max(512),
  /** Human-readable origin: a file path, `path#line`, or an upload name. */
  source: z.string(),
  kind: z.enum(["file", "inline", "url"]),
  /** For `file`: the absolute path to read. For `url`, once downloaded: the kept copy. */
  path: z.string().optional(),
  /** For `url`: the address to download (http or https only). */
  url: z.url({ protocol: /^https?$/, error: "expected an http or https URL" }).optional(),
  /** For `inline`: the text (already decoded) and an optional title. */
  text: z.string().optional(),
  title: z.string().optional(),
  /** Media type when known (inline documents are `text/plain` unless said otherwise). */
  mediaType: z.string().optional(),
  meta: z.record(z.string(), z.unknown()).default({}),
});
export type DocumentRef = z.infer<typeof DocumentRefSchema>;

/** Bytes of a document, read and typed, not yet parsed. */
export const RawDocumentSchema = z.object({
  ref: DocumentRefSchema,
  mediaType: z.string(),
  bytes: z.instanceof(Uint8Array),
});
export type RawDocument = z.infer<typeof RawDocumentSchema>;

export const PageSchema = z.object({
  number: z.number().int().positive(),
  text: z.string(),
  /** How the page text was obtained. */
  method: z.enum(["text-layer", "ocr"]).default("text-layer"),
  /** Mean OCR word confidence (0-100) when the page was read by OCR. */
  confidence: z.number().min(0).max(100).optional(),
});
export type Page = z.infer<typeof PageSchema>;

/** The intermediate representation every parser produces and every later stage reads. */
export const ParsedDocumentSchema = z.object({
  id: z.string(),
  source: z.string(),
  title: z.string(),
  text: z.string(),
  mediaType: z.string(),
  /** sha256 of the normalised text: re-ingesting unchanged content is a no-op. */
  contentHash: z.string().length(64),
  language: z.string().optional(),
  pages: z.array(PageSchema).optional(),
  meta: z.record(z.string(), z.unknown()).default({}),
});
export type ParsedDocument = z.infer<typeof ParsedDocumentSchema>;
