/**
 * The messages between `ThreadedEmbedder` (main thread) and `embedder-thread.ts` (each worker
 * thread). Only plain data crosses: errors travel as `{name, message, code}` because class
 * instances do not survive the structured clone, and vectors as one transferred ArrayBuffer.
 */
import type { EmbedderConfig } from "../config/schema.ts";
import { ERROR_CODES, type ErrorCode, SluiceError, isSluiceError } from "../contracts/errors.ts";
import type { EmbedOptions, ModelParams } from "./ports.ts";

/** What a thread is started with (`workerData`): the embedder it builds with `createEmbedder`. */
export interface EmbedderThreadData {
  config: EmbedderConfig;
  dataDir?: string;
}

/** What the inner embedder says about itself once warm; the proxy shows it as its own. */
export interface EmbedderInfo {
  id: string;
  dimensions: number;
  languages?: readonly string[];
}

export type ToThread =
  | { type: "warmUp"; id: number }
  | { type: "embed"; id: number; texts: readonly string[]; kind?: EmbedOptions["kind"]; params?: ModelParams }
  /** The caller went away: abort the call's signal inside the thread (its reply is dropped anyway). */
  | { type: "abort"; id: number }
  | { type: "close"; id: number };

/** An error as it crosses the thread boundary. */
export interface ErrorWire {
  name: string;
  message: string;
  code?: string;
}

export type FromThread =
  | { id: number; ok: true; info: EmbedderInfo }
  /** `count` vectors of `dimensions` floats each, packed in order in `vectors`. */
  | { id: number; ok: true; vectors: ArrayBuffer; count: number; dimensions: number }
  | { id: number; ok: true }
  | { id: number; ok: false; error: ErrorWire };

/**
 * An error as plain data: a SluiceError keeps its code, anything else its name and message.
 *
 * @example
 * port.postMessage({ id, ok: false, error: errorToWire(err) });
 */
export function errorToWire(err: unknown): ErrorWire {
  if (isSluiceError(err)) return { name: err.name, message: err.message, code: err.code };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

/**
 * The error again on this side: a `SluiceError` with the same code and message when it was one,
 * else an `Error` with the same name and message (so retry rules treat it as before).
 *
 * @example
 * if (!reply.ok) throw errorFromWire(reply.error);
 */
export function errorFromWire(wire: ErrorWire): Error {
  if (wire.code !== undefined && Object.hasOwn(ERROR_CODES, wire.code))
    return new SluiceError(wire.code as ErrorCode, wire.message);
  const err = new Error(wire.message);
  err.name = wire.name;
  return err;
}

/**
 * Packs vectors into one buffer (to transfer, not copy, across threads).
 *
 * @example
 * const packed = packVectors(vectors, embedder.dimensions);
 * port.postMessage({ id, ok: true, ...packed }, [packed.vectors]);
 */
export function packVectors(
  vectors: readonly Float32Array[],
  dimensions: number,
): { vectors: ArrayBuffer; count: number; dimensions: number } {
  const all = new Float32Array(vectors.length * dimensions);
  vectors.forEach((v, i) => {
    if (v.length !== dimensions)
      throw new SluiceError("MODEL_BAD_RESPONSE", `vector ${i} has ${v.length} dimensions, expected ${dimensions}`);
    all.set(v, i * dimensions);
  });
  return { vectors: all.buffer, count: vectors.length, dimensions };
}

/**
 * The vectors of a packed buffer, as views into it (no copy), as the gRPC client returns them.
 *
 * @example
 * const vectors = unpackVectors(reply.vectors, reply.count, reply.dimensions);
 */
export function unpackVectors(buffer: ArrayBuffer, count: number, dimensions: number): Float32Array[] {
  const all = new Float32Array(buffer);
  if (all.length !== count * dimensions)
    throw new SluiceError(
      "MODEL_BAD_RESPONSE",
      `embedder thread sent ${all.length} floats for ${count} × ${dimensions}`,
    );
  return Array.from({ length: count }, (_, i) => all.subarray(i * dimensions, (i + 1) * dimensions));
}
