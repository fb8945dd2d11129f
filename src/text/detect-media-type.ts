import { extname } from "node:path";
import { SluiceError } from "../contracts/errors.ts";

/**
 * Media type for a BEIR-style JSON Lines corpus (expanded into inline documents, never parsed as a whole).
 *
 * @example
 * if (mediaTypeForPath(path) === JSONL_MEDIA_TYPE) streamRecords(path);
 */
export const JSONL_MEDIA_TYPE = "application/x-ndjson";

/**
 * File extensions Sluice ingests (lower case, with the dot), with the media type each one implies.
 *
 * @example
 * Object.keys(EXTENSION_MEDIA_TYPES).join(" "); // ".txt .md .markdown .html .htm .pdf .jsonl"
 */
export const EXTENSION_MEDIA_TYPES: Readonly<Record<string, string>> = {
  ".txt": "text/plain",
  ".md": "text/markdown",
  ".markdown": "text/markdown",
  ".html": "text/html",
  ".htm": "text/html",
  ".pdf": "application/pdf",
  ".jsonl": JSONL_MEDIA_TYPE,
};

/** What an unknown or binary file is typed as; the parser rejects it with `UNSUPPORTED_TYPE`. */
const UNKNOWN_MEDIA_TYPE = "application/octet-stream";

/** How many leading bytes are sniffed. */
const SNIFF_BYTES = 8192;

const TEXT_MEDIA_TYPES = new Set<string>(["text/plain", "text/markdown", "text/html", JSONL_MEDIA_TYPE]);

/** Signatures of common binary formats, checked at offset 0. */
const BINARY_SIGNATURES: ReadonlyArray<{ name: string; bytes: readonly number[] }> = [
  { name: "PNG image", bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { name: "JPEG image", bytes: [0xff, 0xd8, 0xff] },
  { name: "GIF image", bytes: [0x47, 0x49, 0x46, 0x38] },
  { name: "ZIP archive (or DOCX/XLSX/EPUB)", bytes: [0x50, 0x4b, 0x03, 0x04] },
  { name: "ZIP archive", bytes: [0x50, 0x4b, 0x05, 0x06] },
  { name: "gzip archive", bytes: [0x1f, 0x8b] },
  { name: "7-Zip archive", bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { name: "xz archive", bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { name: "zstd archive", bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { name: "ELF executable", bytes: [0x7f, 0x45, 0x4c, 0x46] },
  { name: "Mach-O executable", bytes: [0xcf, 0xfa, 0xed, 0xfe] },
  { name: "Mach-O executable", bytes: [0xce, 0xfa, 0xed, 0xfe] },
  { name: "Java class or Mach-O fat binary", bytes: [0xca, 0xfe, 0xba, 0xbe] },
  { name: "WebAssembly module", bytes: [0x00, 0x61, 0x73, 0x6d] },
  {
    name: "SQLite database",
    bytes: [0x53, 0x51, 0x4c, 0x69, 0x74, 0x65, 0x20, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x20, 0x33, 0x00],
  },
  { name: "OLE2 document (old Office format)", bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1] },
  { name: "RIFF media (WAV/AVI/WebP)", bytes: [0x52, 0x49, 0x46, 0x46] },
  { name: "Ogg media", bytes: [0x4f, 0x67, 0x67, 0x53] },
  { name: "TIFF image", bytes: [0x49, 0x49, 0x2a, 0x00] },
  { name: "TIFF image", bytes: [0x4d, 0x4d, 0x00, 0x2a] },
];

function startsWith(bytes: Uint8Array, signature: readonly number[], offset = 0): boolean {
  if (bytes.length < offset + signature.length) return false;
  return signature.every((b, i) => bytes[offset + i] === b);
}

/** Offset of `%PDF-` within the first KiB (the PDF spec tolerates leading junk), or -1. */
function pdfHeaderOffset(bytes: Uint8Array): number {
  const end = Math.min(bytes.length, 1024) - 5;
  for (let i = 0; i <= end; i++) {
    if (
      bytes[i] === 0x25 &&
      bytes[i + 1] === 0x50 &&
      bytes[i + 2] === 0x44 &&
      bytes[i + 3] === 0x46 &&
      bytes[i + 4] === 0x2d
    )
      return i;
  }
  return -1;
}

function hasUtf16Bom(bytes: Uint8Array): boolean {
  return startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff]);
}

/**
 * Why the bytes look binary (a format name or a byte statistic), or `undefined` when they look like text.
 * Only the first 8 KiB are examined.
 */
function binaryReason(bytes: Uint8Array): string | undefined {
  for (const sig of BINARY_SIGNATURES) if (startsWith(bytes, sig.bytes)) return `${sig.name} signature`;
  if (hasUtf16Bom(bytes)) return undefined;
  const n = Math.min(bytes.length, SNIFF_BYTES);
  let nul = 0;
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i] as number;
    if (b === 0) nul++;
    // Tab, LF, VT, FF, CR and ESC (ANSI colours in logs) are normal in text.
    else if (
      (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0b && b !== 0x0c && b !== 0x0d && b !== 0x1b) ||
      b === 0x7f
    )
      control++;
  }
  if (nul > 0) return `${nul} NUL byte${nul === 1 ? "" : "s"} in the first ${n} bytes`;
  if (n > 0 && control / n > 0.1)
    return `${Math.round((control / n) * 100)}% control characters in the first ${n} bytes`;
  return undefined;
}

/** Whether the text (after a BOM and leading whitespace) opens like an HTML document. */
function looksLikeHtml(bytes: Uint8Array): boolean {
  const head = new TextDecoder("utf-8")
    .decode(bytes.subarray(0, 1024))
    .replace(/^\uFEFF/, "")
    .trimStart()
    .slice(0, 64)
    .toLowerCase();
  return head.startsWith("<!doctype html") || head.startsWith("<html");
}

/**
 * Media type for a file extension (lower-cased, with the dot), or `undefined` when Sluice does not ingest it.
 *
 * @example
 * mediaTypeForPath("docs/Guide.MD"); // "text/markdown"
 * mediaTypeForPath("notes.docx"); // undefined
 */
export function mediaTypeForPath(path: string): string | undefined {
  return EXTENSION_MEDIA_TYPES[extname(path).toLowerCase()];
}

/**
 * Types a document from its magic bytes, its declared media type and its file extension, in that order of trust:
 * a `%PDF-` header means PDF whatever the name; bytes that look binary are rejected when the document claims to
 * be text; a supported declared type wins over the extension; an unknown extension is sniffed for HTML.
 * Returns `application/octet-stream` for anything unsupported (the parser then fails with `UNSUPPORTED_TYPE`).
 *
 * @param bytes the document's bytes (only the first 8 KiB are examined)
 * @param source file name or path, used for the extension and named in errors
 * @param declared media type already known (from the extension at expansion time, or an upload's content type)
 * @throws SluiceError `DOCUMENT_BINARY` when a text-typed document (e.g. `.txt`) holds binary bytes
 *
 * @example
 * detectMediaType(new TextEncoder().encode("%PDF-1.7\n..."), "scan.bin"); // "application/pdf"
 * detectMediaType(new TextEncoder().encode("# Title"), "README.md"); // "text/markdown"
 * detectMediaType(pngBytes, "photo.txt");
 * // throws DOCUMENT_BINARY: "photo.txt: file looks binary (PNG image signature), expected text/plain"
 */
export function detectMediaType(bytes: Uint8Array, source: string, declared?: string): string {
  if (pdfHeaderOffset(bytes) >= 0) return "application/pdf";
  const fromExtension = mediaTypeForPath(source);
  const declaredSupported =
    declared !== undefined &&
    declared !== UNKNOWN_MEDIA_TYPE &&
    (TEXT_MEDIA_TYPES.has(declared) || declared === "application/pdf")
      ? declared
      : undefined;
  const claimed = declaredSupported ?? fromExtension;
  // A PDF without its header: the PDF parser reports it as corrupt, which says more than "binary".
  if (claimed === "application/pdf") return claimed;
  const reason = binaryReason(bytes);
  if (reason !== undefined) {
    if (claimed !== undefined) {
      throw new SluiceError("DOCUMENT_BINARY", `${source}: file looks binary (${reason}), expected ${claimed}`, {
        details: { source, reason, expected: claimed },
      });
    }
    return UNKNOWN_MEDIA_TYPE;
  }
  if (claimed !== undefined) return claimed;
  return looksLikeHtml(bytes) ? "text/html" : UNKNOWN_MEDIA_TYPE;
}
