import { basename, extname } from "node:path";
import type { Page, RawDocument } from "../../../contracts/document.ts";
import { SluiceError } from "../../../contracts/errors.ts";
import { detectMediaType, EXTENSION_MEDIA_TYPES } from "../../../text/detect-media-type.ts";
import { decodeText } from "./decode-text.ts";
import { htmlToText } from "./html-to-text.ts";
import { markdownToText } from "./markdown-to-text.ts";
import { pdfToPages } from "./pdf-to-pages.ts";

export { decodeText } from "./decode-text.ts";
export {
  detectMediaType,
  mediaTypeForPath,
  EXTENSION_MEDIA_TYPES,
  JSONL_MEDIA_TYPE,
} from "../../../text/detect-media-type.ts";
export { htmlToText } from "./html-to-text.ts";
export { markdownToText } from "./markdown-to-text.ts";
export { pdfToPages } from "./pdf-to-pages.ts";

/**
 * What {@link parseBytes} produces: the text and title every later stage reads, and PDF pages when there are any.
 *
 * @example
 * const parsed: ParsedBytes = { title: "Guide", text: "Guide\n\nUse sluice.", mediaType: "text/markdown" };
 */
export interface ParsedBytes {
  title: string;
  text: string;
  mediaType: string;
  pages?: Page[];
}

/**
 * Options for {@link parseBytes}.
 *
 * @example
 * await parseBytes(raw, { allowEmptyPdfText: true }); // scans come back with empty pages, for OCR
 */
export interface ParseBytesOptions {
  /**
   * Return a PDF whose pages have no text layer (a scan) with empty text instead of failing with `DOCUMENT_EMPTY`,
   * so that an OCR stage can fill the pages in. Default `false`.
   */
  allowEmptyPdfText?: boolean;
}

const SUPPORTED_EXTENSIONS = Object.keys(EXTENSION_MEDIA_TYPES).join(" ");

/**
 * File name without its extension (for inline refs, whose source is `file.jsonl:LINE`, the id instead; for url
 * refs the URL's last path segment, not the kept file's sha256 name).
 */
function fallbackTitle(raw: RawDocument): string {
  if (raw.ref.kind === "inline") return "";
  const name = raw.ref.kind === "url" && raw.ref.url ? urlPath(raw.ref.url) : (raw.ref.path ?? raw.ref.source);
  return basename(name, extname(name));
}

function urlPath(url: string): string {
  const path = new URL(url).pathname;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? "";
  const trimmed = line.trim();
  return trimmed.length > 120 ? `${trimmed.slice(0, 117).trimEnd()}...` : trimmed;
}

/**
 * Parses a read document into plain text by its detected media type: plain text (decoded, normalised), Markdown
 * (prose kept, syntax stripped), HTML (text of the visible elements) or PDF (text layer per page; `text` is the pages
 * joined by a blank line, and `pages` keeps them). Inline documents (BEIR records) are plain text.
 *
 * @param raw the bytes and ref from `readDocument`
 * @throws SluiceError `DOCUMENT_EMPTY` when nothing but whitespace is left (a PDF without a text layer says so and
 *   carries `details.needsOcr`), `UNSUPPORTED_TYPE` listing the supported extensions, `DOCUMENT_BINARY`,
 *   `DOCUMENT_ENCODING`, `PDF_ENCRYPTED`, `PDF_CORRUPT`; every message starts with the document's source
 *
 * @example
 * const parsed = await parseBytes(await readDocument(ref, { maxDocumentBytes: 50 << 20 }));
 * parsed.mediaType; // "application/pdf"
 * parsed.pages?.length; // 14
 */
export async function parseBytes(raw: RawDocument, options: ParseBytesOptions = {}): Promise<ParsedBytes> {
  const source = raw.ref.source || raw.ref.id;
  const mediaType =
    raw.ref.kind === "inline" ? raw.mediaType || "text/plain" : detectMediaType(raw.bytes, source, raw.mediaType);
  let result: ParsedBytes;
  switch (mediaType) {
    case "text/plain": {
      const text = decodeText(raw.bytes, source)
        .replace(/[^\S\n]+$/gm, "")
        .trim();
      result = { title: raw.ref.title?.trim() || fallbackTitle(raw) || firstLine(text), text, mediaType };
      break;
    }
    case "text/markdown": {
      const { title, text } = markdownToText(decodeText(raw.bytes, source), raw.ref.path ?? source);
      result = { title: raw.ref.title?.trim() || title, text, mediaType };
      break;
    }
    case "text/html": {
      const { title, text } = htmlToText(decodeText(raw.bytes, source));
      result = { title: title || raw.ref.title?.trim() || fallbackTitle(raw) || firstLine(text), text, mediaType };
      break;
    }
    case "application/pdf": {
      const { title, pages } = await pdfToPages(raw.bytes, source);
      const text = pages.map((p) => p.text).join("\n\n");
      if (text.trim() === "" && pages.length > 0) {
        if (options.allowEmptyPdfText === true)
          return { title, text: "", mediaType, pages: pages.map((p) => ({ ...p, method: "text-layer" as const })) };
        throw new SluiceError(
          "DOCUMENT_EMPTY",
          `${source}: PDF has ${pages.length} page${pages.length === 1 ? "" : "s"} but no text layer (scanned?); OCR is needed`,
          {
            details: { source, pages: pages.length, needsOcr: true },
          },
        );
      }
      result = { title, text, mediaType, pages: pages.map((p) => ({ ...p, method: "text-layer" as const })) };
      break;
    }
    default:
      throw new SluiceError(
        "UNSUPPORTED_TYPE",
        `${source}: unsupported document type (${mediaType}); supported extensions: ${SUPPORTED_EXTENSIONS}`,
        {
          details: { source, mediaType, supported: SUPPORTED_EXTENSIONS.split(" ") },
        },
      );
  }
  if (result.text.trim() === "")
    throw new SluiceError("DOCUMENT_EMPTY", `${source}: no text left after parsing (${mediaType})`, {
      details: { source, mediaType },
    });
  return result;
}
