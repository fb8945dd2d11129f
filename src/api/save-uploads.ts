import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { extname, join } from "node:path";
import type { Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import type { Multipart } from "@fastify/multipart";
import { SluiceError } from "../contracts/errors.ts";
import { EXTENSION_MEDIA_TYPES } from "../text/detect-media-type.ts";

const MAX_NAME_LENGTH = 200;

/** Where a multipart upload was written. */
export interface SavedUpload {
  /** `<dataDir>/uploads/<random>`: one folder per request, holding the files under their sanitised names. */
  dir: string;
  /** Sanitised file names, in upload order; each becomes a document id. */
  names: string[];
}

/**
 * A client's file name reduced to a safe single path segment: the last segment only (no
 * `../`), NFC, letters/digits/`.`/`_`/`-` kept and anything else turned into `_`, no leading
 * dots (the path walker skips dot files), at most 200 characters with the extension kept.
 *
 * @example
 * sanitizeFileName("../../etc/My Notes (v2).md"); // "My_Notes_v2_.md"
 */
export function sanitizeFileName(name: string): string {
  const last = name.split(/[\\/]/).pop() ?? "";
  let safe = last
    .normalize("NFC")
    .replace(/[^\p{L}\p{N}._-]+/gu, "_")
    .replace(/^[._]+/, "");
  if (safe.length > MAX_NAME_LENGTH) {
    const ext = extname(safe).slice(0, 16);
    safe = safe.slice(0, MAX_NAME_LENGTH - ext.length) + ext;
  }
  return safe;
}

function checkName(raw: string, names: Set<string>): string {
  const name = sanitizeFileName(raw);
  if (name === "" || extname(name) === "") {
    throw new SluiceError(
      "VALIDATION_FAILED",
      `uploaded file "${raw}" needs a file name with an extension (${Object.keys(EXTENSION_MEDIA_TYPES).join(", ")})`,
      { details: { filename: raw } },
    );
  }
  const ext = extname(name).toLowerCase();
  if (EXTENSION_MEDIA_TYPES[ext] === undefined) {
    throw new SluiceError(
      "UNSUPPORTED_TYPE",
      `uploaded file "${raw}": unsupported extension "${ext}"; supported: ${Object.keys(EXTENSION_MEDIA_TYPES).join(", ")}`,
      { details: { filename: raw } },
    );
  }
  if (names.has(name))
    throw new SluiceError(
      "VALIDATION_FAILED",
      `two uploaded files are both named "${name}"; file names become document ids and must be unique`,
      { details: { filename: raw } },
    );
  names.add(name);
  return name;
}

/**
 * Streams every file part of a multipart request to disk under `<dataDir>/uploads/<random>/`,
 * one file at a time (memory stays flat whatever the upload size). Rejects a file over
 * `fileSizeLimit` with 413 `PAYLOAD_TOO_LARGE`, an unsupported extension with 415, a missing or
 * duplicate name with 400, a request without files with 400. After the first rejected file the
 * rest of the request is read and discarded, then that error is thrown; on any failure the
 * folder is removed first.
 *
 * @example
 * const { dir, names } = await saveUploads(request.parts(), sluice.dataDir, 100 << 20);
 * await sluice.submitPaths({ collection, paths: [dir] });
 */
export async function saveUploads(
  parts: AsyncIterable<Multipart>,
  dataDir: string,
  fileSizeLimit: number,
): Promise<SavedUpload> {
  const dir = join(dataDir, "uploads", `${Date.now().toString(36)}-${randomBytes(6).toString("hex")}`);
  await mkdir(dir, { recursive: true });
  const names = new Set<string>();
  let failure: Error | undefined;
  const tooLarge = (filename: string) =>
    new SluiceError(
      "PAYLOAD_TOO_LARGE",
      `uploaded file "${filename}" is over the ${fileSizeLimit}-byte per-file upload limit`,
      { details: { filename, limit: fileSizeLimit } },
    );
  try {
    try {
      for await (const part of parts) {
        if (part.type !== "file") continue;
        // After a rejected file, read the rest of the request to its end so the client gets the
        // error as a clean response, not a stalled or reset connection.
        if (failure !== undefined) {
          await discard(part.file);
          continue;
        }
        try {
          const name = checkName(part.filename, names);
          await pipeline(part.file, createWriteStream(join(dir, name), { flags: "wx" }));
          if (part.file.truncated) throw tooLarge(part.filename);
        } catch (err) {
          failure = err instanceof Error ? err : new SluiceError("INTERNAL", String(err));
          await discard(part.file);
        }
      }
    } catch (err) {
      // The parser reports its own limits through the iterator; the first failure seen wins, and
      // a size overrun is reported with the file's name.
      failure ??= isFileTooLarge(err)
        ? tooLarge(err.part?.filename ?? "?")
        : err instanceof Error
          ? err
          : new SluiceError("INTERNAL", String(err));
    }
    if (failure !== undefined) throw failure;
    if (names.size === 0)
      throw new SluiceError(
        "VALIDATION_FAILED",
        "the multipart upload has no file parts; send each document as a file field",
      );
    return { dir, names: [...names] };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function isFileTooLarge(err: unknown): err is { part?: { filename?: string } } {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "FST_REQ_FILE_TOO_LARGE";
}

/** Reads a part's stream to its end and drops the bytes (a no-op for a stream already ended or destroyed). */
async function discard(stream: Readable): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return;
  stream.resume();
  await finished(stream).catch(() => undefined);
}
