import { readFile, stat } from "node:fs/promises";
import type { DocumentRef, RawDocument } from "../../contracts/document.ts";
import { ERROR_CODES, type ErrorCode, SluiceError } from "../../contracts/errors.ts";
import { detectMediaType } from "../../text/detect-media-type.ts";

/**
 * Options for {@link readDocument}.
 *
 * @example
 * const options: ReadDocumentOptions = { maxDocumentBytes: 50 * 1024 * 1024, signal: AbortSignal.timeout(30_000) };
 */
export interface ReadDocumentOptions {
  /** Largest document accepted, in bytes; larger files are rejected from their size alone, unread. */
  maxDocumentBytes: number;
  /** Aborts a read in progress. */
  signal?: AbortSignal;
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The failure a source attached to a ref (`meta.error`), when it has the expected `{ code, message }` shape. */
function attachedError(ref: DocumentRef): SluiceError | undefined {
  const error: unknown = ref.meta?.["error"];
  if (typeof error !== "object" || error === null) return undefined;
  const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
  if (typeof code !== "string" || !(code in ERROR_CODES) || typeof message !== "string") return undefined;
  return new SluiceError(
    code as ErrorCode,
    message,
    typeof details === "object" && details !== null ? { details: details as Record<string, unknown> } : {},
  );
}

function tooLarge(source: string, size: number, limit: number): SluiceError {
  return new SluiceError(
    "DOCUMENT_TOO_LARGE",
    `${source}: document is ${megabytes(size)} (${size} bytes), over the ${megabytes(limit)} limit (maxDocumentBytes)`,
    {
      details: { source, bytes: size, limit },
    },
  );
}

/**
 * Reads a document's bytes and types them. Inline refs give the UTF-8 bytes of their text (a ref whose source
 * attached `meta.error` throws that error instead). File refs are stat'ed first: an empty file fails with
 * `DOCUMENT_EMPTY` and one over `maxDocumentBytes` with `DOCUMENT_TOO_LARGE`, both without reading it.
 *
 * @throws SluiceError `DOCUMENT_EMPTY`, `DOCUMENT_TOO_LARGE`, `PATH_NOT_FOUND` (the file vanished),
 *   `UNSUPPORTED_TYPE` (not a regular file), `DOCUMENT_BINARY` (binary bytes in a text-typed file), or the error a
 *   source attached to the ref; all name the document's source
 *
 * @example
 * const raw = await readDocument(
 *   { id: "a.md", source: "docs/a.md", kind: "file", path: "/abs/docs/a.md", meta: {} },
 *   { maxDocumentBytes: 50 << 20 },
 * );
 * raw.mediaType; // "text/markdown"
 */
export async function readDocument(ref: DocumentRef, options: ReadDocumentOptions): Promise<RawDocument> {
  const source = ref.source || ref.id;
  const attached = attachedError(ref);
  if (attached !== undefined) throw attached;
  // Fetching is its own stage, with its own guard and limits: this reader never touches the network.
  if (ref.kind === "url")
    throw new SluiceError(
      "VALIDATION_FAILED",
      `${source}: url documents are fetched by the source.download stage, not source.load (${ref.url ?? "no url"})`,
      { details: { source, kind: ref.kind } },
    );

  if (ref.kind === "inline") {
    if (ref.text === undefined)
      throw new SluiceError("DOCUMENT_EMPTY", `${source}: inline document has no text`, { details: { source } });
    const bytes = new TextEncoder().encode(ref.text);
    if (bytes.length > options.maxDocumentBytes) throw tooLarge(source, bytes.length, options.maxDocumentBytes);
    return { ref, mediaType: ref.mediaType ?? "text/plain", bytes };
  }

  if (ref.path === undefined)
    throw new SluiceError("PATH_NOT_FOUND", `${source}: file document has no path`, { details: { source } });
  options.signal?.throwIfAborted();
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(ref.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new SluiceError("PATH_NOT_FOUND", `${source}: file not found (${ref.path})`, {
        details: { source, path: ref.path },
        cause: err,
      });
    throw err;
  }
  if (!info.isFile())
    throw new SluiceError("UNSUPPORTED_TYPE", `${source}: not a regular file`, { details: { source, path: ref.path } });
  if (info.size === 0)
    throw new SluiceError("DOCUMENT_EMPTY", `${source}: file is empty (0 bytes)`, { details: { source } });
  if (info.size > options.maxDocumentBytes) throw tooLarge(source, info.size, options.maxDocumentBytes);

  const buffer = await readFile(ref.path, options.signal !== undefined ? { signal: options.signal } : {});
  // The file may have changed since stat.
  if (buffer.length === 0)
    throw new SluiceError("DOCUMENT_EMPTY", `${source}: file is empty (0 bytes)`, { details: { source } });
  if (buffer.length > options.maxDocumentBytes) throw tooLarge(source, buffer.length, options.maxDocumentBytes);
  const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  return { ref, mediaType: detectMediaType(bytes, source, ref.mediaType), bytes };
}
