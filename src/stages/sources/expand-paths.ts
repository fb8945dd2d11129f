import { createReadStream } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { extname, isAbsolute, relative, resolve, sep } from "node:path";
import { glob, isDynamicPattern } from "tinyglobby";
import { insideRoots } from "../../config/allowed-roots.ts";
import type { DocumentRef } from "../../contracts/document.ts";
import { type ErrorCode, SluiceError } from "../../contracts/errors.ts";
import { EXTENSION_MEDIA_TYPES, JSONL_MEDIA_TYPE, mediaTypeForPath } from "../../text/detect-media-type.ts";

/**
 * Options for {@link expandPaths}.
 *
 * @example
 * const options: ExpandPathsOptions = { cwd: process.cwd(), maxDocumentBytes: 50 * 1024 * 1024 };
 */
export interface ExpandPathsOptions {
  /** Directory that relative inputs, globs and file ids are resolved against. */
  cwd: string;
  /** Largest document accepted; a JSON Lines record longer than this becomes a failed `DOCUMENT_TOO_LARGE` ref. */
  maxDocumentBytes: number;
  /**
   * Real directories every file must resolve into (after symlinks); a file outside yields a ref
   * that fails with PATH_FORBIDDEN. Unset: no limit (the CLI's user owns their file system).
   */
  allowedRoots?: readonly string[];
}

/** One input, checked to exist and resolved to what it names. */
type Resolved =
  | { kind: "file"; input: string; path: string; base: string }
  | { kind: "dir"; input: string; path: string }
  | { kind: "glob"; input: string; paths: string[] };

const MAX_ID_LENGTH = 512;

function toPosix(path: string): string {
  return sep === "/" ? path : path.split(sep).join("/");
}

/** How a path is shown to people: relative to cwd when inside it, else absolute; always with forward slashes. */
function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return toPosix(rel === "" || rel.startsWith("..") || isAbsolute(rel) ? path : rel);
}

function isSupported(path: string): boolean {
  return EXTENSION_MEDIA_TYPES[extname(path).toLowerCase()] !== undefined;
}

async function statOrUndefined(path: string): Promise<Awaited<ReturnType<typeof stat>> | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR")
      return undefined;
    throw err;
  }
}

async function resolveInput(input: string, cwd: string): Promise<Resolved> {
  const path = resolve(cwd, input);
  const info = await statOrUndefined(path);
  if (info?.isDirectory()) return { kind: "dir", input, path };
  if (info !== undefined) return { kind: "file", input, path, base: cwd };
  if (isDynamicPattern(input)) {
    const matches = await glob(toPosix(input), {
      cwd,
      absolute: true,
      onlyFiles: true,
      dot: false,
      ignore: ["**/node_modules/**"],
      expandDirectories: false,
    });
    const paths = matches.map((p) => resolve(p)).sort();
    if (paths.length === 0)
      throw new SluiceError("PATH_NOT_FOUND", `${input}: no files match this pattern (relative to ${cwd})`, {
        details: { input, cwd },
      });
    return { kind: "glob", input, paths };
  }
  throw new SluiceError("PATH_NOT_FOUND", `${input}: no such file or directory (resolved to ${path})`, {
    details: { input, path },
  });
}

/**
 * Files under a directory, depth first in name order, skipping dot entries and `node_modules`;
 * symlinks followed once.
 */
async function* walk(dir: string, seen: Set<string>): AsyncGenerator<string> {
  const real = await realpath(dir);
  if (seen.has(real)) return;
  seen.add(real);
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const full = resolve(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await statOrUndefined(full);
      isDir = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDir) yield* walk(full, seen);
    else if (isFile) yield full;
  }
}

function failedRef(
  id: string,
  source: string,
  code: ErrorCode,
  message: string,
  details: Record<string, unknown>,
): DocumentRef {
  return { id, source, kind: "inline", mediaType: "text/plain", meta: { error: { code, message, details } } };
}

/** Splits a byte stream into lines without ever holding more than `maxLineBytes` of one line. */
async function* lines(
  path: string,
  maxLineBytes: number,
): AsyncGenerator<{ line: number; bytes: Uint8Array | undefined; length: number }> {
  let parts: Buffer[] = [];
  let length = 0;
  let overflow = false;
  let line = 1;
  const finish = (): { line: number; bytes: Uint8Array | undefined; length: number } => {
    let bytes: Uint8Array | undefined = overflow ? undefined : Buffer.concat(parts, length);
    if (bytes !== undefined && bytes.length > 0 && bytes[bytes.length - 1] === 0x0d)
      bytes = bytes.subarray(0, bytes.length - 1);
    const out = { line, bytes, length };
    parts = [];
    length = 0;
    overflow = false;
    line++;
    return out;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      const end = nl < 0 ? buf.length : nl;
      length += end - start;
      if (!overflow) {
        if (length > maxLineBytes) {
          overflow = true;
          parts = [];
        } else parts.push(buf.subarray(start, end));
      }
      if (nl < 0) break;
      yield finish();
      start = nl + 1;
    }
  }
  if (length > 0) yield finish();
}

function isBlank(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a);
}

/** One BEIR record (`{"_id", "title", "text", ...}`) as an inline ref, or a failed ref saying what is wrong with it. */
function recordRef(bytes: Uint8Array, line: number, file: string, fallbackId: string): DocumentRef {
  const source = `${file}:${line}`;
  const invalid = (why: string): DocumentRef =>
    failedRef(fallbackId, source, "JSONL_INVALID", `${file} line ${line}: ${why}`, { source, line });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return invalid("not valid UTF-8");
  }
  if (line === 1) text = text.replace(/^\uFEFF/, "");
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch (err) {
    return invalid(`invalid JSON (${(err as Error).message})`);
  }
  if (typeof record !== "object" || record === null || Array.isArray(record)) return invalid("expected a JSON object");
  const { _id: rawId, title, text: body, ...rest } = record as Record<string, unknown>;
  if (rawId === undefined || rawId === null) return invalid('missing "_id"');
  if (typeof rawId !== "string" && typeof rawId !== "number") return invalid('"_id" must be a string or a number');
  const id = String(rawId);
  if (id === "" || id.length > MAX_ID_LENGTH) return invalid(`"_id" must be 1 to ${MAX_ID_LENGTH} characters`);
  if (body === undefined || body === null) return invalid('missing "text"');
  if (typeof body !== "string") return invalid('"text" must be a string');
  if (title !== undefined && title !== null && typeof title !== "string") return invalid('"title" must be a string');
  // A record's own "error" field must not read as a failure marker downstream.
  const meta: Record<string, unknown> = { ...rest, line };
  if ("error" in rest) {
    meta["recordError"] = rest["error"];
    delete meta["error"];
  }
  return {
    id,
    source,
    kind: "inline",
    text: body,
    ...(typeof title === "string" ? { title } : {}),
    mediaType: "text/plain",
    meta,
  };
}

async function* expandJsonl(path: string, cwd: string, maxDocumentBytes: number): AsyncGenerator<DocumentRef> {
  const file = displayPath(path, cwd);
  // JSON escaping can make a record's line longer than its text; allow some slack before giving up on a line.
  const maxLineBytes = maxDocumentBytes * 2 + 64 * 1024;
  for await (const { line, bytes, length } of lines(path, maxLineBytes)) {
    const fallbackId = `${file}:${line}`;
    if (bytes === undefined) {
      yield failedRef(
        fallbackId,
        fallbackId,
        "DOCUMENT_TOO_LARGE",
        `${file} line ${line}: record is ${length} bytes, over the ${maxLineBytes}-byte line limit`,
        { source: fallbackId, line, bytes: length },
      );
      continue;
    }
    if (isBlank(bytes)) continue;
    const ref = recordRef(bytes, line, file, fallbackId);
    const size = ref.text === undefined ? 0 : Buffer.byteLength(ref.text, "utf8");
    if (size > maxDocumentBytes) {
      yield failedRef(
        ref.id,
        ref.source,
        "DOCUMENT_TOO_LARGE",
        `${file} line ${line}: text is ${size} bytes, over the ${maxDocumentBytes}-byte limit (maxDocumentBytes)`,
        { source: ref.source, line, bytes: size, limit: maxDocumentBytes },
      );
      continue;
    }
    yield ref;
  }
}

/**
 * Expands the inputs of an ingest request into document refs, lazily. Each input is a file, a directory (walked
 * recursively in name order, skipping dot entries and `node_modules`; only supported extensions are taken) or a glob
 * (tinyglobby, relative to `cwd`; only supported extensions are taken). A file named explicitly is always yielded,
 * even with an unsupported extension, so that it fails visibly later with `UNSUPPORTED_TYPE`.
 *
 * Ids are paths relative to the directory given (for files found in it) or to `cwd` (for files and globs), with
 * forward slashes; a file reached twice is yielded once, and a second file that would reuse an id falls back to its
 * cwd-relative path. `.jsonl` files are BEIR corpora: streamed line by line, one inline ref per record with
 * id = `_id`, source `file.jsonl:LINE` and the other fields in `meta`; a bad record does not stop the rest but yields
 * a ref with `meta.error = { code: "JSONL_INVALID", message }` (or `DOCUMENT_TOO_LARGE`) that fails when read.
 *
 * @throws SluiceError `PATH_NOT_FOUND` naming the input, before anything is yielded, when an input does not exist or
 *   a glob matches nothing
 *
 * @example
 * for await (const ref of expandPaths(["docs", "notes/*.md", "corpus.jsonl"], {
 *   cwd: process.cwd(),
 *   maxDocumentBytes: 50 << 20,
 * })) {
 *   console.log(ref.id, ref.source); // "guide/intro.md docs/guide/intro.md", ..., "doc1 corpus.jsonl:1"
 * }
 */
export async function* expandPaths(inputs: string[], options: ExpandPathsOptions): AsyncGenerator<DocumentRef> {
  const cwd = resolve(options.cwd);
  const resolved: Resolved[] = [];
  for (const input of inputs) resolved.push(await resolveInput(input, cwd));

  const seenFiles = new Set<string>();
  const seenIds = new Set<string>();
  const seenDirs = new Set<string>();

  async function* emit(path: string, base: string): AsyncGenerator<DocumentRef> {
    if (seenFiles.has(path)) return;
    seenFiles.add(path);
    if (options.allowedRoots && !insideRoots(await realpath(path), options.allowedRoots)) {
      const shown = displayPath(path, cwd);
      yield failedRef(
        shown,
        shown,
        "PATH_FORBIDDEN",
        `${shown}: resolves outside the allowed ingest roots (a symbolic link leading out?)`,
        { path: shown },
      );
      return;
    }
    const mediaType = mediaTypeForPath(path);
    if (mediaType === JSONL_MEDIA_TYPE) {
      yield* expandJsonl(path, cwd, options.maxDocumentBytes);
      return;
    }
    let id = toPosix(relative(base, path));
    if (seenIds.has(id)) id = displayPath(path, cwd);
    seenIds.add(id);
    const source = displayPath(path, cwd);
    yield { id, source, kind: "file", path, ...(mediaType !== undefined ? { mediaType } : {}), meta: {} };
  }

  for (const r of resolved) {
    if (r.kind === "file") yield* emit(r.path, r.base);
    else if (r.kind === "glob") {
      for (const path of r.paths) if (isSupported(path)) yield* emit(path, cwd);
    } else {
      for await (const path of walk(r.path, seenDirs)) if (isSupported(path)) yield* emit(path, r.path);
    }
  }
}
